"""The LMCache connector driven the way LMCache drives it (restated in tests/engines/lmcache, LMCache dev of autumn
2026): loaded as a remote storage plugin, reached as ``plugin://crescent`` through a RemoteBackend whose calls run on
LMCache's event loop, against a real Crescent server."""
import asyncio
import threading
from types import SimpleNamespace

import pytest
import torch

from crescent.adapters.lmcache import CrescentConnector, CrescentConnectorAdapter
from lmcache.utils import CacheEngineKey
from lmcache.v1.memory_management import MemoryFormat, TensorMemoryObj
from lmcache.v1.storage_backend.connector import CreateConnector
from lmcache.v1.storage_backend.local_cpu_backend import LocalCPUBackend
from lmcache.v1.storage_backend.remote_backend import RemoteBackend


def plugin_config(address, **more):
    extra = {"remote_storage_plugin.crescent.module_path": "crescent.adapters.lmcache",
             "remote_storage_plugin.crescent.class_name": "CrescentConnectorAdapter"}
    if address:
        extra["remote_storage_plugin.crescent.master_server_address"] = address
    extra.update(more)
    return SimpleNamespace(remote_storage_plugins=["crescent"], remote_url=None, extra_config=extra)


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)


@pytest.fixture
def backends(server_address, loop):
    made = []

    def make(config=None, room=True):
        backend = RemoteBackend(config or plugin_config(server_address), SimpleNamespace(), loop,
                                LocalCPUBackend(room), plugin_name="crescent")
        made.append(backend)
        return backend
    yield make
    for backend in made:
        backend.close()


def chunk_key(key, name):
    return CacheEngineKey("vllm", "model-a", 2, 1, key + name)


def chunk(shape=(2, 16, 8, 64), dtype=torch.bfloat16):
    obj = TensorMemoryObj(shape, dtype, MemoryFormat.KV_2LTD)
    obj.tensor.copy_(torch.randn(shape).to(dtype))
    return obj


def test_plugin_mode_connects_through_the_base_class_with_namespaced_settings(backends):
    backend = backends()
    assert isinstance(backend.connection, CrescentConnector)
    assert backend.connection.initialized_by_base


def test_a_chunk_put_by_one_instance_is_read_by_another_with_shape_dtype_and_format(backends, key):
    a, b = backends(), backends()
    k, written = chunk_key(key, "c0"), chunk()
    assert not b.contains(k) and b.get_blocking(k) is None
    a.submit_put_task(k, written)
    assert b.contains(k)
    got = b.get_blocking(k)
    assert got.metadata.shape == written.metadata.shape and got.metadata.dtype == torch.bfloat16
    assert got.metadata.fmt == MemoryFormat.KV_2LTD and torch.equal(got.tensor, written.tensor)
    many = b.batched_get_blocking([k, chunk_key(key, "absent")])
    assert torch.equal(many[0].tensor, written.tensor) and many[1] is None


def test_exists_and_get_agree_because_a_chunk_is_one_object(backends, key):
    a = backends()
    k = chunk_key(key, "one")
    a.submit_put_task(k, chunk((4, 4), torch.float32))
    assert a.connection.store.remove(k.to_string(), force=True) == 0
    assert not a.contains(k) and a.get_blocking(k) is None


def test_a_bare_remote_url_finds_no_adapter_which_is_why_the_readme_uses_plugin_mode(server_address, loop):
    config = SimpleNamespace(remote_storage_plugins=[], remote_url=f"crescent://{server_address}", extra_config={})
    with pytest.raises(ValueError, match="No adapter found"):
        CreateConnector(config.remote_url, loop, LocalCPUBackend(), config, SimpleNamespace())


def test_a_remote_url_with_the_plugin_entry_connects(server_address, loop):
    config = plugin_config(None)
    config.remote_url = f"crescent://{server_address}"
    connector = CreateConnector(config.remote_url, loop, LocalCPUBackend(), config, SimpleNamespace())
    assert isinstance(connector, CrescentConnector)
    asyncio.run_coroutine_threadsafe(connector.close(), loop).result(10)


def test_the_url_form_is_parsed_by_the_adapter(server_address, key):
    adapter = CrescentConnectorAdapter()
    context = SimpleNamespace(url=f"crescent://{server_address}", local_cpu_backend=LocalCPUBackend(),
                              config=SimpleNamespace(extra_config={}), metadata=None)
    connector = adapter.create_connector(context)
    k = chunk_key(key, "url")
    asyncio.run(connector.put(k, chunk((8,), torch.float32)))
    assert connector.exists_sync(k)
    asyncio.run(connector.close())


def test_the_adapter_claims_its_own_urls_only():
    adapter = CrescentConnectorAdapter()
    assert adapter.can_parse("plugin://crescent") and adapter.can_parse("crescent://h:1")
    assert not adapter.can_parse("plugin://redis") and not adapter.can_parse("redis://h:1")


def test_a_missing_master_address_fails_loudly_not_silently(loop, monkeypatch):
    monkeypatch.delenv("CRESCENT_MASTER", raising=False)
    with pytest.raises(ValueError, match="remote_storage_plugin.crescent.master_server_address"):
        CreateConnector("plugin://crescent", loop, LocalCPUBackend(), plugin_config(None), SimpleNamespace())


def test_no_local_memory_is_a_miss(backends, key):
    a, b = backends(), backends(room=False)
    k = chunk_key(key, "c")
    a.submit_put_task(k, chunk((4, 4), torch.float32))
    assert b.contains(k) and b.get_blocking(k) is None


def test_full_store_drops_the_chunk_quietly(backends, key, full_store):
    a = backends()
    k = chunk_key(key, "dropped")
    a.submit_put_task(k, chunk((1 << 18,), torch.float32))
    assert not a.contains(k)


def test_a_chunk_whose_bytes_do_not_match_its_header_is_a_miss(backends, key):
    from crescent import tensor_header
    a = backends()
    k = chunk_key(key, "torn")
    header = tensor_header.encode((4, 4), torch.float32, MemoryFormat.KV_2LTD)
    assert a.connection.store.put_parts(k.to_string(), header, bytes(8)) == 0  # 8 bytes, the header says 64
    assert a.contains(k) and a.get_blocking(k) is None
