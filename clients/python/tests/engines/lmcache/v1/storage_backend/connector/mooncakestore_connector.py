"""Restates LMCache's built-in Mooncake connector, lmcache/v1/storage_backend/connector/mooncakestore_connector.py
(LMCache dev, commit 01aed92): setup with seven positional arguments, a ReplicateConfig of one replica (preferring
this host's segment with prefer_local_alloc), register_buffer of the pinned CPU buffer; with save_chunk_meta (the
default) a chunk is put_parts(key, 28-byte metadata, bytes) and read back with batch_get_buffer; without it a chunk
is put_from(key, address, size, config) and read with batch_get_into (bytes read, <= 0 a miss). exists is is_exist.
close unregisters the buffer and closes the store. The 28-byte metadata is LMCache's RemoteMetadata layout
(length, shape of 4, dtype and format as int32s)."""
import asyncio
import struct

import torch

from lmcache.v1.memory_management import MemoryFormat
from lmcache.v1.storage_backend.connector.base_connector import RemoteConnector

METADATA_BYTES_LEN = 28
_DTYPES = [torch.half, torch.float16, torch.bfloat16, torch.float, torch.float32, torch.float64, torch.double,
           torch.uint8]


def _metadata(length, shape, dtype, fmt) -> bytes:
    return struct.pack("iiiiiii", length, *shape, _DTYPES.index(dtype), fmt.value)


def _parse(data):
    length, s0, s1, s2, s3, dtype, fmt = struct.unpack("iiiiiii", bytes(data[:METADATA_BYTES_LEN]))
    return length, torch.Size([s0, s1, s2, s3]), _DTYPES[dtype], MemoryFormat(fmt)


class MooncakestoreConnector(RemoteConnector):
    def __init__(self, master_server_address, local_cpu_backend, pinned_buffer, save_chunk_meta=True,
                 prefer_local_alloc=True):
        from mooncake.store import MooncakeDistributedStore, ReplicateConfig
        super().__init__(None, None)
        self.store = MooncakeDistributedStore()
        self.store.setup("localhost", "P2PHANDSHAKE", 3355443200, 1073741824, "tcp", "", master_server_address)
        self.local_cpu_backend = local_cpu_backend
        self.save_chunk_meta = save_chunk_meta
        self.replica_config = ReplicateConfig()
        self.replica_config.replica_num = 1
        if prefer_local_alloc:
            self.replica_config.preferred_segment = self.store.get_hostname()
        self.registered_buffer_ptr = pinned_buffer.data_ptr()
        assert self.store.register_buffer(pinned_buffer.data_ptr(), pinned_buffer.numel()) == 0

    async def exists(self, key):
        return self.store.is_exist(key.to_string())

    def exists_sync(self, key):
        return self.store.is_exist(key.to_string())

    async def put(self, key, memory_obj):
        tensor = memory_obj.tensor
        if self.save_chunk_meta:
            meta = memory_obj.metadata
            data = memory_obj.byte_array
            header = _metadata(len(data), meta.shape, meta.dtype, meta.fmt)
            await asyncio.to_thread(self.store.put_parts, key.to_string(), header, data)
        else:
            await asyncio.to_thread(self.store.put_from, key.to_string(), tensor.data_ptr(),
                                    tensor.numel() * tensor.element_size(), self.replica_config)

    async def get(self, key):
        raise NotImplementedError("Single get is not supported. Use batched_get([key]) instead.")

    def support_batched_get(self):
        return True

    async def batched_get(self, keys, shape=None, dtype=None, fmt=None):
        if self.save_chunk_meta:
            buffers = await asyncio.to_thread(self.store.batch_get_buffer, [k.to_string() for k in keys])
            results = []
            for buffer in buffers:
                if buffer is None:
                    results.append(None)
                    continue
                view = memoryview(buffer)
                length, shape, dtype, fmt = _parse(view)
                assert len(view) == length + METADATA_BYTES_LEN
                obj = self.local_cpu_backend.allocate(shape, dtype, fmt)
                count = shape.numel()
                obj.tensor.copy_(torch.frombuffer(buffer, dtype=dtype, offset=METADATA_BYTES_LEN,
                                                  count=count).reshape(shape))
                results.append(obj)
            return results
        objs = [self.local_cpu_backend.allocate(shape, dtype, fmt) for _ in keys]
        read = await asyncio.to_thread(self.store.batch_get_into, [k.to_string() for k in keys],
                                       [o.tensor.data_ptr() for o in objs],
                                       [o.tensor.numel() * o.tensor.element_size() for o in objs])
        return [o if n > 0 else None for o, n in zip(objs, read)]

    async def list(self):
        return []

    async def close(self):
        self.store.unregister_buffer(self.registered_buffer_ptr)
        self.store.close()
