"""LMCache remote backend: LMCache's KV chunks kept in Crescent.

LMCache reaches remote stores through connectors chosen by URL: ``remote_url: "crescent://master-host:8080"``
with ``CrescentConnectorAdapter`` registered among its connector adapters (or ``CrescentConnector`` built directly
with a master address). A chunk is two objects: its bytes under the key, and a small header under ``key + "#meta"``
(shape, dtype, format) that is written last, so ``exists`` only sees complete chunks. Reads go straight into a
memory object allocated from LMCache's local CPU backend. A miss or a failed read is ``None``; a full store
(back-pressure, -200) drops the chunk with a log line, as LMCache expects of a cache.
"""
import asyncio
import json

import torch

from ..errors import ErrorCode
from ._common import connect, log, note_puts, stored

SCHEME = "crescent://"
META_SUFFIX = "#meta"

try:  # The real base classes when LMCache is installed; the adapter also works (and is tested) without them.
    from lmcache.v1.storage_backend.connector.base_connector import RemoteConnector as _Base
except ImportError:
    _Base = object
try:
    from lmcache.v1.storage_backend.connector import ConnectorAdapter as _AdapterBase
except ImportError:
    _AdapterBase = object


class CrescentConnector(_Base):
    def __init__(self, master_server_address: str, local_cpu_backend, extra_config: dict | None = None):
        config = dict(extra_config or {})
        config["master_server_address"] = master_server_address
        self.store = connect(config)
        self.local_cpu_backend = local_cpu_backend

    # ---- RemoteConnector --------------------------------------------------------------------------------------

    async def exists(self, key) -> bool:
        return await asyncio.to_thread(self.exists_sync, key)

    def exists_sync(self, key) -> bool:
        return self.store.is_exist(_name(key) + META_SUFFIX) == 1

    async def get(self, key):
        return await asyncio.to_thread(self.get_sync, key)

    def get_sync(self, key):
        header = self.store.get(_name(key) + META_SUFFIX)
        if not header:
            return None
        meta = json.loads(header)
        memory_obj = self.local_cpu_backend.allocate(torch.Size(meta["shape"]), _dtype(meta["dtype"]),
                                                     _format(meta["fmt"]))
        if memory_obj is None:
            log.info("lmcache: no local CPU memory for a chunk of %s; treated as a miss", meta["shape"])
            return None
        code = self.store.get_into(_name(key), memory_obj.byte_array)
        if code < 0:
            memory_obj.ref_count_down()
            return None
        return memory_obj

    async def put(self, key, memory_obj) -> None:
        await asyncio.to_thread(self.put_sync, key, memory_obj)

    def put_sync(self, key, memory_obj) -> None:
        meta = memory_obj.metadata
        header = json.dumps({"shape": list(meta.shape), "dtype": str(meta.dtype).removeprefix("torch."),
                             "fmt": int(getattr(meta.fmt, "value", meta.fmt))}).encode()
        code = self.store.put_from(_name(key), memory_obj.byte_array)
        if stored(code):
            code = self.store.put(_name(key) + META_SUFFIX, header)
        note_puts("lmcache", [code])

    def support_batched_get(self) -> bool:
        return True

    async def batched_get(self, keys) -> list:
        return await asyncio.to_thread(lambda: [self.get_sync(k) for k in keys])

    async def list(self) -> list:
        return []  # The master does not enumerate keys to clients; LMCache uses list() only for diagnostics.

    async def close(self):
        self.store.close()


class CrescentConnectorAdapter(_AdapterBase):
    """Builds a CrescentConnector for ``crescent://host:port`` URLs from LMCache's connector context."""

    def __init__(self):
        if _AdapterBase is not object:
            super().__init__(SCHEME)
        self.schema = SCHEME

    def can_parse(self, url: str) -> bool:
        return url.startswith(SCHEME)

    def create_connector(self, context):
        address = context.url[len(SCHEME):].rstrip("/")
        extra = getattr(getattr(context, "config", None), "extra_config", None) or {}
        return CrescentConnector(address, context.local_cpu_backend, extra)


def _name(key) -> str:
    return key.to_string() if hasattr(key, "to_string") else str(key)


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype {name!r} in a stored chunk header")
    return dtype


def _format(value: int):
    try:
        from lmcache.v1.memory_management import MemoryFormat
        return MemoryFormat(value)
    except ImportError:
        return value


__all__ = ["CrescentConnector", "CrescentConnectorAdapter", "ErrorCode"]
