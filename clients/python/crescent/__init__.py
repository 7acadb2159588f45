"""Crescent's Python client: a distributed KV-cache store for LLM serving."""
from .errors import CrescentError, ErrorCode
from .store import CrescentStore, ReplicateConfig
from .tls import ClientTls

__all__ = ["CrescentStore", "ReplicateConfig", "ErrorCode", "CrescentError", "ClientTls"]
