"""Restates lmcache/v1/storage_backend/connector/__init__.py (LMCache dev, autumn 2026): the adapter base (built
without arguments), the context handed to ``create_connector``, and how a connector is found: for each name in
``remote_storage_plugins``, the adapter class named by ``remote_storage_plugin.<name>.module_path``/``.class_name`` in
``extra_config`` is loaded beside the built-in ones, and the first adapter whose ``can_parse`` accepts the URL
(``plugin://<name>`` in plugin mode) builds the connector; then ``init_chunk_meta`` and ``post_init`` are called."""
import importlib
from abc import ABC, abstractmethod


class ConnectorContext:
    def __init__(self, url, loop, local_cpu_backend, config, metadata, plugin_name=None):
        self.url = url
        self.loop = loop
        self.local_cpu_backend = local_cpu_backend
        self.config = config
        self.metadata = metadata
        self.plugin_name = plugin_name


class ConnectorAdapter(ABC):
    def __init__(self, schema: str = "") -> None:
        self.schema = schema

    @abstractmethod
    def can_parse(self, url: str) -> bool: ...

    @abstractmethod
    def create_connector(self, context): ...


class BuiltinRedisAdapter(ConnectorAdapter):
    """Stands for the built-in adapters found first: it must not claim a plugin's URL, nor a plugin adapter its."""

    def __init__(self):
        super().__init__("redis://")

    def can_parse(self, url):
        return url.startswith("redis://")

    def create_connector(self, context):
        raise AssertionError("the redis adapter was chosen for " + context.url)


def _plugin_adapters(config):
    extra = config.extra_config or {}
    adapters = []
    for name in config.remote_storage_plugins or []:
        module = importlib.import_module(extra[f"remote_storage_plugin.{name}.module_path"])
        adapters.append(getattr(module, extra[f"remote_storage_plugin.{name}.class_name"])())
    return adapters


def CreateConnector(url, loop, local_cpu_backend, config=None, metadata=None, plugin_name=None):
    if "://" not in url:
        raise ValueError(f"Invalid remote url {url}: missing scheme")
    context = ConnectorContext(url, loop, local_cpu_backend, config, metadata, plugin_name)
    for adapter in [BuiltinRedisAdapter(), *_plugin_adapters(config)]:
        if adapter.can_parse(url):
            connector = adapter.create_connector(context)
            connector.init_chunk_meta(config, metadata)
            connector.post_init()
            return connector
    raise ValueError(f"No adapter found for URL: {url}")
