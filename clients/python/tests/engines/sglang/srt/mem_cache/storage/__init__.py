from .backend_factory import StorageBackendFactory

__all__ = ["StorageBackendFactory"]
