"""LMCache remote backend: LMCache's KV chunks kept in Crescent.

Enable it as an LMCache remote storage plugin (LMCache's supported way to add a remote store)::

    remote_storage_plugins: ["crescent"]
    extra_config:
      remote_storage_plugin.crescent.module_path: crescent.adapters.lmcache
      remote_storage_plugin.crescent.class_name: CrescentConnectorAdapter
      remote_storage_plugin.crescent.master_server_address: crescent-master:8080
      # optional: remote_storage_plugin.crescent.protocol (auto | tcp), .replica_num, .local_hostname,
      # .master_transport (auto | wire | grpc)

LMCache then asks the adapter for ``plugin://crescent``; the settings come from the ``remote_storage_plugin.crescent.``
keys (the master address falls back to $CRESCENT_MASTER). The older ``remote_url: crescent://host:port`` form is also
parsed, for LMCache builds that find adapters by URL.

A chunk is one object: a fixed 128-byte header (shape, dtype, memory format, as JSON) followed by the chunk's bytes,
written in one put, so ``exists`` and ``get`` can never disagree about a chunk half evicted. Reads allocate the
memory object from LMCache's local CPU backend. A miss, a failed read or a malformed header is ``None``; a full store
(back-pressure, -200) drops the chunk with a log line, as LMCache expects of a cache.

Restated interfaces: LMCache dev of autumn 2026 (``RemoteConnector.__init__(config, metadata)``, ``ConnectorAdapter``
built without arguments, ``ConnectorContext`` with ``plugin_name``, the remote-storage-plugin loader).
"""
import asyncio
import os

from .. import tensor_header
from ..errors import ErrorCode
from ._common import MASTER_ENV, connect, log, note_puts

SCHEME = "crescent://"
PLUGIN = "crescent"
_SETTINGS = ("master_server_address", "protocol", "replica_num", "local_hostname", "master_transport")

try:  # The real base classes when LMCache is installed (or the tests' restatement of them).
    from lmcache.v1.storage_backend.connector import ConnectorAdapter as _AdapterBase
    from lmcache.v1.storage_backend.connector.base_connector import RemoteConnector as _Base
except ImportError:
    _Base = _AdapterBase = object


class CrescentConnector(_Base):
    def __init__(self, config, metadata, local_cpu_backend, settings: dict):
        if _Base is not object:
            super().__init__(config, metadata)
        self.store = connect(settings)
        self.local_cpu_backend = local_cpu_backend

    # ---- RemoteConnector --------------------------------------------------------------------------------------

    async def exists(self, key) -> bool:
        return await asyncio.to_thread(self.exists_sync, key)

    def exists_sync(self, key) -> bool:
        return self.store.is_exist(_name(key)) == 1

    async def get(self, key):
        return await asyncio.to_thread(self.get_sync, key)

    def get_sync(self, key):
        stored = self.store.get(_name(key))
        if not stored:
            return None
        try:
            shape, dtype, fmt = tensor_header.decode(stored)
        except ValueError:
            log.warning("lmcache: chunk %s has a malformed header; treated as a miss", _name(key))
            return None
        memory_obj = self.local_cpu_backend.allocate(shape, dtype, _format(fmt))
        if memory_obj is None:
            log.info("lmcache: no local CPU memory for a chunk of %s; treated as a miss", list(shape))
            return None
        target = memoryview(memory_obj.byte_array).cast("B")
        if target.nbytes != len(stored) - tensor_header.HEADER_BYTES:
            memory_obj.ref_count_down()
            return None
        target[:] = memoryview(stored)[tensor_header.HEADER_BYTES:]
        return memory_obj

    async def put(self, key, memory_obj) -> None:
        await asyncio.to_thread(self.put_sync, key, memory_obj)

    def put_sync(self, key, memory_obj) -> None:
        meta = memory_obj.metadata
        header = tensor_header.encode(meta.shape, meta.dtype, meta.fmt)
        note_puts("lmcache", [self.store.put_parts(_name(key), header, memory_obj.byte_array)])

    def support_batched_get(self) -> bool:
        return True

    async def batched_get(self, keys) -> list:
        return await asyncio.to_thread(lambda: [self.get_sync(k) for k in keys])

    async def list(self) -> list:
        return []  # The master does not enumerate keys to clients; LMCache uses list() only for diagnostics.

    async def close(self):
        self.store.close()


class CrescentConnectorAdapter(_AdapterBase):
    """Builds a CrescentConnector for ``plugin://crescent`` (plugin mode) or ``crescent://host:port`` URLs."""

    def __init__(self):
        if _AdapterBase is not object:
            super().__init__(SCHEME)
        self.schema = SCHEME

    def can_parse(self, url: str) -> bool:
        return url.startswith(SCHEME) or url == f"plugin://{PLUGIN}"

    def create_connector(self, context):
        extra = getattr(getattr(context, "config", None), "extra_config", None) or {}
        settings = {name: extra[f"remote_storage_plugin.{PLUGIN}.{name}"] for name in _SETTINGS
                    if f"remote_storage_plugin.{PLUGIN}.{name}" in extra}
        if context.url.startswith(SCHEME):
            settings["master_server_address"] = context.url[len(SCHEME):].rstrip("/")
        if "master_server_address" not in settings and not os.environ.get(MASTER_ENV):
            raise ValueError(f"set remote_storage_plugin.{PLUGIN}.master_server_address (or ${MASTER_ENV}) to the "
                             "Crescent master's host:port")
        return CrescentConnector(getattr(context, "config", None), getattr(context, "metadata", None),
                                 context.local_cpu_backend, settings)


def _name(key) -> str:
    return key.to_string() if hasattr(key, "to_string") else str(key)


def _format(value):
    if value is None:
        return None
    try:
        from lmcache.v1.memory_management import MemoryFormat
        return MemoryFormat(value)
    except ImportError:
        return value


__all__ = ["CrescentConnector", "CrescentConnectorAdapter", "ErrorCode"]
