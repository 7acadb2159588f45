"""Restates lmcache/v1/memory_management.py (LMCache dev, autumn 2026): the memory formats and the CPU memory object
a connector fills (``byte_array``) and describes (``metadata``)."""
import enum
from dataclasses import dataclass

import torch


class MemoryFormat(enum.Enum):
    UNDEFINED = 0
    KV_2LTD = 1
    KV_T2D = 2
    BINARY = 3
    KV_MLA_FMT = 5


@dataclass
class MemoryObjMetadata:
    shape: torch.Size
    dtype: torch.dtype
    fmt: MemoryFormat


class TensorMemoryObj:
    def __init__(self, shape, dtype, fmt):
        self.tensor = torch.zeros(shape, dtype=dtype)
        self.metadata = MemoryObjMetadata(torch.Size(shape), dtype, fmt)
        self.ref_count = 1

    @property
    def byte_array(self):
        # LMCache exposes the tensor's bytes as a writable buffer.
        return self.tensor.view(-1).view(torch.uint8).numpy().data

    def ref_count_down(self):
        self.ref_count -= 1
