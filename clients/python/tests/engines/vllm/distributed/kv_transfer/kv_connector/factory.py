"""Restates vllm/distributed/kv_transfer/kv_connector/factory.py (vLLM main, autumn 2026): how a connector named by
``kv_connector`` + ``kv_connector_module_path`` is imported and constructed, once per role and process."""
import importlib
import inspect

from .v1 import supports_hma


class KVConnectorFactory:
    @classmethod
    def create_connector(cls, config, role, kv_cache_config=None):
        transfer = config.kv_transfer_config
        if transfer is None:
            raise ValueError("kv_transfer_config must be set to create a connector")
        module = importlib.import_module(transfer.kv_connector_module_path)
        connector_cls = getattr(module, transfer.kv_connector)
        compat_sig = "kv_cache_config" not in inspect.signature(connector_cls).parameters
        hma_enabled = not config.scheduler_config.disable_hybrid_kv_cache_manager
        if hma_enabled and not supports_hma(connector_cls):
            raise ValueError(f"Connector {connector_cls.__name__} does not support HMA but HMA is enabled. "
                             "Please set `--disable-hybrid-kv-cache-manager`.")
        if compat_sig:
            return connector_cls(config, role)
        return connector_cls(config, role, kv_cache_config)
