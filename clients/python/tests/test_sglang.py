"""The SGLang HiCache backend driven the way SGLang drives it (restated in tests/engines/sglang, SGLang main of
autumn 2026): built by StorageBackendFactory's dynamic loader as ``backend_class(storage_config, kwargs)``, given the
host pool, then used by HiCacheController for hit queries, prefetches and backups, against a real Crescent server."""
import pytest
import torch

from sglang.srt.managers.cache_controller import HiCacheController
from sglang.srt.mem_cache.hicache_storage import HiCacheStorageConfig
from sglang.srt.mem_cache.memory_pool_host import HostKVCache

PAGE = 4


def storage_config(address, tp_rank=0, tp_size=2, pp_rank=0, pp_size=1, cp_rank=0, cp_size=1, mla=False,
                   model="org/model-a", interface_v1=True):
    extra = {"backend_name": "crescent", "module_path": "crescent.adapters.sglang",
             "class_name": "CrescentHiCacheStorage", "master_server_address": address}
    if interface_v1:
        extra["interface_v1"] = 1
    return HiCacheStorageConfig(tp_rank=tp_rank, tp_size=tp_size, pp_rank=pp_rank, pp_size=pp_size,
                                attn_cp_rank=cp_rank, attn_cp_size=cp_size, is_mla_model=mla,
                                enable_storage_metrics=False, is_page_first_layout=True, model_name=model,
                                extra_config=extra)


@pytest.fixture
def controllers(server_address):
    made = []

    def make(mla=False, head_dim=8, **config):
        pool = HostKVCache(size=16 * PAGE, page_size=PAGE, layer_num=2, head_num=2, head_dim=head_dim, mla=mla)
        controller = HiCacheController(pool, storage_config(server_address, mla=mla, **config))
        made.append(controller)
        return controller
    yield make
    for controller in made:
        controller.storage_backend.close()


def pages(*numbers):
    """Host indices of whole pages, as HiCache passes them (one index per token)."""
    return torch.cat([torch.arange(n * PAGE, (n + 1) * PAGE) for n in numbers])


def page_kv(pool, number):
    return pool.get_data_page(number * PAGE)


@pytest.mark.parametrize("interface_v1", [True, False])
def test_a_second_instance_prefetches_what_the_first_backed_up(controllers, key, interface_v1):
    a, b = controllers(interface_v1=interface_v1), controllers(interface_v1=interface_v1)
    a.mem_pool_host.kv_buffer.copy_(torch.randn_like(a.mem_pool_host.kv_buffer))
    hashes = [f"{key}h{i}" for i in range(3)]
    assert a.page_backup(hashes, pages(1, 5, 7)) == 3
    assert b.storage_hit_query(hashes + [key + "unseen"]) == hashes
    assert b.page_transfer(hashes, pages(0, 2, 3)) == 3
    for src, dst in ((1, 0), (5, 2), (7, 3)):
        assert torch.equal(page_kv(b.mem_pool_host, dst), page_kv(a.mem_pool_host, src))
    assert not page_kv(b.mem_pool_host, 4).any()


@pytest.mark.parametrize("other", [
    {"model": "org/model-b"}, {"tp_rank": 1}, {"pp_size": 2, "pp_rank": 1}, {"cp_size": 2, "cp_rank": 1}])
def test_pages_of_another_model_rank_stage_or_context_shard_are_misses(controllers, key, other):
    mine = {"pp_size": other.get("pp_size", 1), "cp_size": other.get("cp_size", 1)}
    a, b = controllers(**mine), controllers(**other)
    hashes = [f"{key}p{i}" for i in range(2)]
    assert a.page_backup(hashes, pages(0, 1)) == 2
    assert b.storage_hit_query(hashes) == []
    assert controllers(**mine).storage_hit_query(hashes) == hashes


def test_mla_ranks_share_one_copy_written_by_rank_zero(controllers, key):
    rank0, rank1 = controllers(mla=True, tp_rank=0), controllers(mla=True, tp_rank=1)
    rank0.mem_pool_host.kv_buffer.copy_(torch.randn_like(rank0.mem_pool_host.kv_buffer))
    hashes = [key + "mla"]
    assert rank1.page_backup(hashes, pages(2)) == 0  # HiCache skips the backup on other ranks
    assert rank0.page_backup(hashes, pages(2)) == 1
    assert rank1.page_transfer(hashes, pages(6)) == 1
    assert torch.equal(page_kv(rank1.mem_pool_host, 6), page_kv(rank0.mem_pool_host, 2))


@pytest.mark.parametrize("interface_v1", [True, False])
def test_an_object_of_another_size_is_a_miss_not_a_short_page(controllers, key, interface_v1):
    a = controllers(interface_v1=interface_v1)
    backend = a.storage_backend
    assert backend.store.put(backend._key(key + "short"), b"\x01" * 16) == 0
    assert a.page_transfer([key + "short"], pages(0)) == 0


def test_clear_removes_this_backends_pages_only(controllers, key):
    a, b = controllers(), controllers()
    assert a.page_backup([key + "a"], pages(0)) == 1
    assert b.page_backup([key + "b"], pages(0)) == 1
    a.storage_backend.clear()
    assert a.storage_hit_query([key + "a"]) == []
    assert b.storage_hit_query([key + "b"]) == [key + "b"]


def test_a_backend_that_is_not_a_hicache_storage_is_refused_by_the_loader(server_address):
    config = storage_config(server_address)
    config.extra_config.update(module_path="crescent.store", class_name="CrescentStore")
    with pytest.raises(TypeError, match="HiCacheStorage"):
        HiCacheController(HostKVCache(PAGE, PAGE, 1, 1, 8), config)


def test_full_store_is_not_an_error(controllers, key, full_store):
    a = controllers(head_dim=512)  # 16 KiB pages: more than the full store has room for
    assert a.page_backup([key + "big"], pages(0)) == 0
    assert a.storage_hit_query([key + "big"]) == []
