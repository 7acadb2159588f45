"""The Mooncake-compatible API (``mooncake.store`` from the crescent-mooncake-shim distribution) against a real
server: Mooncake's signatures and return conventions, and the call sequences of the Mooncake integrations that
vLLM, SGLang and LMCache ship (restated in tests/engines)."""
import asyncio
import ctypes

import pytest
import torch

from conftest import wait_until
from mooncake.store import UNSUPPORTED_METHODS, MooncakeDistributedStore, ReplicateConfig

UNSUPPORTED = -1200
NOT_FOUND = -704


@pytest.fixture
def store(server_address):
    s = MooncakeDistributedStore()
    # Mooncake's positional order: local_hostname, metadata_server, global_segment_size, local_buffer_size,
    # protocol, rdma_devices, master_server_addr.
    assert s.setup("127.0.0.1:17812", "P2PHANDSHAKE", 512 << 20, 128 << 20, "rdma", "", server_address) == 0
    yield s
    assert s.close() == 0


def test_setup_against_no_master_answers_a_negative_code():
    s = MooncakeDistributedStore()
    assert s.setup("localhost", "P2PHANDSHAKE", 0, 0, "tcp", "", "127.0.0.1:1", failover_window=0.5) < 0


def test_bytes_addresses_and_sizes_follow_mooncakes_conventions(store, key):
    assert store.put(key + "a", b"hello") == 0
    assert store.is_exist(key + "a") == 1 and store.is_exist(key + "nope") == 0
    assert store.get(key + "a") == b"hello" and store.get(key + "nope") == b""
    assert store.get_size(key + "a") == 5 and store.get_size(key + "nope") == NOT_FOUND
    source = torch.arange(256, dtype=torch.int32)
    target = torch.zeros(512, dtype=torch.int32)
    assert store.put_from(key + "p", source.data_ptr(), 1024, ReplicateConfig()) == 0
    assert store.get_into(key + "p", target.data_ptr(), 2048) == 1024  # bytes read; a larger buffer is fine
    assert torch.equal(target[:256], source) and not target[256:].any()
    assert store.get_into(key + "p", target.data_ptr(), 16) < 0  # too small
    assert store.get_into(key + "nope", target.data_ptr(), 2048) == NOT_FOUND
    assert store.put_parts(key + "parts", b"ab", b"cd") == 0 and store.get(key + "parts") == b"abcd"
    assert store.get_batch([key + "a", key + "nope"]) == [b"hello", b""]
    handle = store.get_buffer(key + "a")
    assert bytes(memoryview(handle)) == b"hello" and handle.size() == 5 and handle.ptr() != 0
    assert store.get_buffer(key + "nope") is None
    # Unlike Mooncake, a finished read does not hold the object for a lease TTL: its lease goes back in milliseconds.
    assert wait_until(lambda: store.remove(key + "a") == 0, timeout=2.0)
    assert store.remove(key + "a") == NOT_FOUND
    assert store.put(key + "unread", b"x") == 0 and store.remove(key + "unread") == 0


def test_batch_forms_answer_one_code_per_key(store, key):
    pages = torch.randn(4, 64)
    keys = [f"{key}b{i}" for i in range(3)]
    ptrs = [pages[i].data_ptr() for i in range(3)]
    assert store.batch_put_from(keys, ptrs, [256] * 3) == [0, 0, 0]
    assert store.batch_is_exist(keys + [key + "nope"]) == [1, 1, 1, 0]
    out = torch.zeros(4, 64)
    assert store.batch_get_into(keys + [key + "nope"], [out[i].data_ptr() for i in range(4)], [256] * 4) == \
        [256, 256, 256, NOT_FOUND]
    assert torch.equal(out[:3], pages[:3])
    k_v = torch.randn(2, 8, 32)
    multi_keys = [key + "m0", key + "m1"]
    all_ptrs = [[k_v[0, i].data_ptr(), k_v[1, i].data_ptr()] for i in range(2)]
    assert store.batch_put_from_multi_buffers(multi_keys, all_ptrs, [[128, 128]] * 2) == [0, 0]
    back = torch.zeros(2, 8, 32)
    assert store.batch_get_into_multi_buffers(
        multi_keys, [[back[0, i].data_ptr(), back[1, i].data_ptr()] for i in range(2)], [[128, 128]] * 2) == [256, 256]
    assert torch.equal(back[:, :2], k_v[:, :2])
    assert store.batch_put_from(keys, ptrs, [256]) == [-600] * 3  # mismatched lists: bad input, not a crash


def test_tensors_plain_and_split_for_tensor_parallel(store, key):
    tensor = torch.randn(8, 6, dtype=torch.bfloat16)
    assert store.put_tensor(key + "t", tensor) == 0
    assert torch.equal(store.get_tensor(key + "t"), tensor)
    assert store.get_tensor(key + "nope") is None
    assert store.batch_put_tensor([key + "t1", key + "t2"], [tensor, tensor * 2]) == [0, 0]
    assert torch.equal(store.batch_get_tensor([key + "t1", key + "t2"])[1], tensor * 2)
    assert store.put_tensor_with_tp(key + "tp", tensor, tp_rank=0, tp_size=2, split_dim=1) == 0
    assert torch.equal(store.get_tensor_with_tp(key + "tp", tp_rank=1, tp_size=2, split_dim=1), tensor[:, 3:])
    buffer = (ctypes.c_ubyte * 4096)()
    into = store.get_tensor_into(key + "t", ctypes.addressof(buffer), 4096)
    assert torch.equal(into, tensor)


def test_methods_crescent_lacks_answer_unsupported_and_never_raise(store):
    assert store.remove_by_regex(".*") == UNSUPPORTED
    assert store.init_all("tcp", "", 1 << 20) == UNSUPPORTED
    assert all(getattr(store, name)() == UNSUPPORTED for name in UNSUPPORTED_METHODS)
    assert store.register_buffer(12345, 4096) == 0 and store.unregister_buffer(12345) == 0


def test_sglangs_mooncake_backend_runs_on_crescent(server_address, key):
    from sglang.srt.managers.cache_controller import HiCacheController
    from sglang.srt.mem_cache.hicache_storage import HiCacheStorageConfig
    from sglang.srt.mem_cache.memory_pool_host import HostKVCache

    def controller(rank):
        config = HiCacheStorageConfig(tp_rank=rank, tp_size=2, pp_rank=0, pp_size=1, attn_cp_rank=0, attn_cp_size=1,
                                      is_mla_model=False, enable_storage_metrics=False, is_page_first_layout=True,
                                      model_name="m", extra_config={"master_server_address": server_address})
        return HiCacheController(HostKVCache(32, 4, 2, 2, 8), config, backend="mooncake")

    a, b = controller(0), controller(0)
    a.mem_pool_host.kv_buffer.copy_(torch.randn_like(a.mem_pool_host.kv_buffer))
    hashes = [f"{key}s{i}" for i in range(2)]
    indices = torch.cat([torch.arange(4, 8), torch.arange(12, 16)])
    assert a.page_backup(hashes, indices) == 2
    assert b.storage_hit_query(hashes + [key + "unseen"]) == hashes
    assert b.page_transfer(hashes, torch.arange(0, 8)) == 2
    assert torch.equal(b.mem_pool_host.get_data_page(0), a.mem_pool_host.get_data_page(4))
    assert torch.equal(b.mem_pool_host.get_data_page(4), a.mem_pool_host.get_data_page(12))
    assert controller(1).storage_hit_query(hashes) == []  # SGLang's Mooncake keys carry the TP rank


def test_vllms_mooncake_store_worker_runs_on_crescent(server_address, key):
    from vllm.distributed.kv_transfer.kv_connector.v1.mooncake.store.worker import MooncakeStoreWorker

    def worker():
        w = MooncakeStoreWorker(server_address, key + "model", tp_rank=0)
        w.register_kv_caches({f"layer{i}": torch.zeros(2, 8, 16, 2, 4) for i in range(2)})
        return w

    a, b = worker(), worker()
    try:
        for cache in a.kv_caches.values():
            cache.copy_(torch.randn_like(cache))
        assert a.save(["h0", "h1"], [2, 5]) == []
        assert b.lookup(["h0", "h1", "h2"]) == 2
        assert b.load(["h0", "h1", "h2"], [0, 1, 3]) == {3}
        for name in a.kv_caches:
            assert torch.equal(b.kv_caches[name][:, 0], a.kv_caches[name][:, 2])
            assert torch.equal(b.kv_caches[name][:, 1], a.kv_caches[name][:, 5])
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("save_chunk_meta", [True, False])
def test_lmcaches_mooncake_connector_runs_on_crescent(server_address, key, save_chunk_meta):
    from lmcache.utils import CacheEngineKey
    from lmcache.v1.memory_management import MemoryFormat, TensorMemoryObj
    from lmcache.v1.storage_backend.connector.mooncakestore_connector import MooncakestoreConnector
    from lmcache.v1.storage_backend.local_cpu_backend import LocalCPUBackend

    pinned = torch.zeros(1 << 16, dtype=torch.uint8)
    writer = MooncakestoreConnector(server_address, LocalCPUBackend(), pinned, save_chunk_meta)
    reader = MooncakestoreConnector(server_address, LocalCPUBackend(), pinned, save_chunk_meta)
    shape = torch.Size([2, 4, 16, 8])
    chunk = TensorMemoryObj(shape, torch.bfloat16, MemoryFormat.KV_2LTD)
    chunk.tensor.copy_(torch.randn(shape).to(torch.bfloat16))
    k = CacheEngineKey("vllm", key + "model", 1, 0, "c0")
    missing = CacheEngineKey("vllm", key + "model", 1, 0, "absent")

    async def scenario():
        await writer.put(k, chunk)
        assert await reader.exists(k) and not await reader.exists(missing)
        return await reader.batched_get([k, missing], shape, torch.bfloat16, MemoryFormat.KV_2LTD)

    got, absent = asyncio.run(scenario())
    assert absent is None and torch.equal(got.tensor, chunk.tensor)
    asyncio.run(writer.close())
    asyncio.run(reader.close())
