"""Restates lmcache/utils.py's CacheEngineKey (LMCache dev, autumn 2026) as connectors see it."""
from dataclasses import dataclass


@dataclass(frozen=True)
class CacheEngineKey:
    fmt: str
    model_name: str
    world_size: int
    worker_id: int
    chunk_hash: str

    def to_string(self) -> str:
        return f"{self.fmt}@{self.model_name}@{self.world_size}@{self.worker_id}@{self.chunk_hash}"
