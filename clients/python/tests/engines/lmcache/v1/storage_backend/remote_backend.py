"""Restates lmcache/v1/storage_backend/remote_backend.py (LMCache dev, autumn 2026): one RemoteBackend per name in
``remote_storage_plugins``, connecting to ``plugin://<name>`` (or to ``remote_url`` without plugins). A connector that
cannot be created is logged and the backend runs without it: every lookup is then a miss. Calls reach the connector
through the backend's event loop, as LMCache's storage manager makes them."""
import asyncio
import logging

from lmcache.v1.storage_backend.connector import CreateConnector

logger = logging.getLogger("lmcache")


class RemoteBackend:
    def __init__(self, config, metadata, loop, local_cpu_backend, plugin_name=None):
        self.loop = loop
        self.connection = None
        url = f"plugin://{plugin_name}" if plugin_name else config.remote_url
        try:
            self.connection = CreateConnector(url, loop, local_cpu_backend, config, metadata, plugin_name)
        except Exception as e:  # LMCache logs and continues without the remote tier
            logger.warning("Failed to initialize remote connection: %s", e)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def contains(self, key) -> bool:
        return self.connection is not None and self._run(self.connection.exists(key))

    def submit_put_task(self, key, memory_obj):
        if self.connection is not None:
            self._run(self.connection.put(key, memory_obj))

    def get_blocking(self, key):
        return None if self.connection is None else self._run(self.connection.get(key))

    def batched_get_blocking(self, keys):
        if self.connection is None:
            return [None] * len(keys)
        if self.connection.support_batched_get():
            return self._run(self.connection.batched_get(keys))
        return [self._run(self.connection.get(k)) for k in keys]

    def close(self):
        if self.connection is not None:
            self._run(self.connection.close())
