"""Restates the allocation side of LMCache's LocalCPUBackend (LMCache dev, autumn 2026): ``allocate`` answers a
memory object, or None when local CPU memory is full."""
from lmcache.v1.memory_management import TensorMemoryObj


class LocalCPUBackend:
    def __init__(self, room=True):
        self.room = room

    def allocate(self, shape, dtype, fmt=None):
        return TensorMemoryObj(shape, dtype, fmt) if self.room else None
