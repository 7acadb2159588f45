"""Restates lmcache/v1/storage_backend/connector/base_connector.py (LMCache dev, autumn 2026): the remote connector
base, constructed with the engine config and metadata, and the chunk-metadata hooks the loader calls."""
import abc


class RemoteConnector(metaclass=abc.ABCMeta):
    def __init__(self, config, metadata):
        self.config = config
        self.metadata = metadata
        self.initialized_by_base = True

    def init_chunk_meta(self, config, metadata) -> None:
        return

    def post_init(self):
        return

    @abc.abstractmethod
    async def exists(self, key) -> bool: ...

    @abc.abstractmethod
    def exists_sync(self, key) -> bool: ...

    @abc.abstractmethod
    async def get(self, key): ...

    @abc.abstractmethod
    async def put(self, key, memory_obj): ...

    @abc.abstractmethod
    async def list(self): ...

    @abc.abstractmethod
    async def close(self): ...

    def support_batched_get(self) -> bool:
        return False
