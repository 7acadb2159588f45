"""Restates the dynamic path of python/sglang/srt/mem_cache/storage/backend_factory.py (SGLang main, autumn 2026):
``--hicache-storage-backend dynamic`` imports ``module_path``.``class_name`` from the extra config, insists it
subclasses HiCacheStorage, and constructs it as ``backend_class(storage_config, kwargs)``; the built-in ``mooncake`` backend is
constructed as ``MooncakeStore(storage_config)``."""
import importlib

from sglang.srt.mem_cache.hicache_storage import HiCacheStorage


class StorageBackendFactory:
    @staticmethod
    def _load_backend_class(module_path, class_name, backend_name):
        backend_class = getattr(importlib.import_module(module_path), class_name)
        if not issubclass(backend_class, HiCacheStorage):
            raise TypeError(f"Backend class {class_name} must inherit from HiCacheStorage")
        return backend_class

    @classmethod
    def create_backend(cls, backend_name, storage_config, mem_pool_host, **kwargs):
        if backend_name == "mooncake":  # built in: constructed with the storage config alone
            return cls._load_backend_class("sglang.srt.mem_cache.storage.mooncake_store.mooncake_store",
                                           "MooncakeStore", "mooncake")(storage_config)
        if backend_name == "dynamic" and storage_config.extra_config is not None:
            config = storage_config.extra_config
            for required in ("backend_name", "module_path", "class_name"):
                if required not in config:
                    raise ValueError(f"Missing required field '{required}' in backend config for 'dynamic' backend")
            backend_class = cls._load_backend_class(config["module_path"], config["class_name"],
                                                    config["backend_name"])
            return backend_class(storage_config, kwargs)
        raise ValueError(f"Unknown storage backend '{backend_name}'")
