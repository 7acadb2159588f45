import asyncio
from types import SimpleNamespace

import pytest
import torch

from crescent.adapters.lmcache import CrescentConnectorAdapter
from crescent.buffers import address_view


class ChunkKey:
    """LMCache's CacheEngineKey as connectors see it."""

    def __init__(self, text):
        self.text = text

    def to_string(self):
        return self.text


class MemoryObj:
    """LMCache's CPU memory object: a tensor, its bytes as a memoryview, and its metadata."""

    def __init__(self, shape, dtype, fmt):
        self.tensor = torch.zeros(shape, dtype=dtype)
        self.byte_array = address_view(self.tensor.data_ptr(), self.tensor.numel() * self.tensor.element_size())
        self.metadata = SimpleNamespace(shape=torch.Size(shape), dtype=dtype, fmt=fmt)
        self.released = False

    def ref_count_down(self):
        self.released = True


class LocalCpuBackend:
    def __init__(self, room=True):
        self.room = room
        self.allocated = []

    def allocate(self, shape, dtype, fmt):
        if not self.room:
            return None
        obj = MemoryObj(shape, dtype, fmt)
        self.allocated.append(obj)
        return obj


@pytest.fixture
def connector(server_address):
    context = SimpleNamespace(url=f"crescent://{server_address}", local_cpu_backend=LocalCpuBackend(),
                              config=SimpleNamespace(extra_config={}), loop=None)
    adapter = CrescentConnectorAdapter()
    assert adapter.can_parse(context.url) and not adapter.can_parse("redis://x:1")
    made = adapter.create_connector(context)
    yield made
    asyncio.run(made.close())


def test_chunk_round_trip_keeps_shape_dtype_and_format(connector, key):
    chunk = MemoryObj((2, 16, 8, 64), torch.bfloat16, 1)
    chunk.tensor.copy_(torch.randn(2, 16, 8, 64).to(torch.bfloat16))
    k = ChunkKey(key + "chunk@model@0")

    async def scenario():
        assert not await connector.exists(k)
        assert await connector.get(k) is None
        await connector.put(k, chunk)
        assert await connector.exists(k) and connector.exists_sync(k)
        return await connector.get(k)

    got = asyncio.run(scenario())
    assert got.metadata.shape == chunk.metadata.shape and got.metadata.dtype == torch.bfloat16
    assert got.metadata.fmt == 1 and torch.equal(got.tensor, chunk.tensor)
    many = asyncio.run(connector.batched_get([k, ChunkKey(key + "absent")]))
    assert torch.equal(many[0].tensor, chunk.tensor) and many[1] is None


def test_no_local_memory_is_a_miss(connector, key):
    k = ChunkKey(key + "c")
    asyncio.run(connector.put(k, MemoryObj((4, 4), torch.float32, 1)))
    connector.local_cpu_backend.room = False
    assert asyncio.run(connector.get(k)) is None


def test_full_store_drops_the_chunk_quietly(connector, key, full_store):
    k = ChunkKey(key + "dropped")
    asyncio.run(connector.put(k, MemoryObj((1 << 18,), torch.float32, 1)))
    assert not connector.exists_sync(k)
