from types import SimpleNamespace

import pytest
import torch

from crescent.adapters.sglang import CrescentHiCacheStorage


def backend(address, rank=0, mla=False):
    config = SimpleNamespace(tp_rank=rank, tp_size=2, is_mla_model=mla, model_name="m",
                             extra_config={"master_server_address": address})
    return CrescentHiCacheStorage(config)


@pytest.fixture
def hicache(server_address):
    storage = backend(server_address)
    yield storage
    storage.close()


def test_set_get_exists_with_tensors(hicache, key):
    page = torch.randn(64, 128, dtype=torch.float16)
    assert hicache.set(key + "p0", page)
    assert hicache.set(key + "p0", page)  # already there: still backed up
    assert hicache.exists(key + "p0") and not hicache.exists(key + "p1")
    target = torch.empty_like(page)
    assert hicache.get(key + "p0", target) is target and torch.equal(target, page)
    assert hicache.get(key + "p1", torch.empty_like(page)) is None
    raw = hicache.get(key + "p0")
    assert raw.dtype == torch.uint8 and torch.equal(raw.view(torch.float16).view(64, 128), page)


def test_batches_and_hit_prefix(hicache, key):
    pages = [torch.full((256,), float(i)) for i in range(4)]
    keys = [f"{key}h{i}" for i in range(4)]
    assert hicache.batch_set(keys[:2] + keys[3:], pages[:2] + pages[3:])
    assert hicache.batch_exists(keys) == 2  # h2 is missing: only the prefix before it counts
    targets = [torch.empty(256) for _ in range(4)]
    got = hicache.batch_get(keys, targets)
    assert got[2] is None and all(torch.equal(got[i], pages[i]) for i in (0, 1, 3))


def test_addresses_and_sizes(hicache, key):
    pool = torch.arange(1024, dtype=torch.float32)
    assert hicache.set(key + "addr", target_location=pool.data_ptr(), target_sizes=512)
    target = torch.zeros(128, dtype=torch.float32)
    assert hicache.get(key + "addr", target.data_ptr(), 512) is not None
    assert torch.equal(target, pool[:128])


def test_ranks_are_kept_apart_unless_mla(server_address, key):
    rank0, rank1 = backend(server_address, 0), backend(server_address, 1)
    mla0, mla1 = backend(server_address, 0, mla=True), backend(server_address, 1, mla=True)
    try:
        assert rank0.set(key + "r", torch.ones(8))
        assert not rank1.exists(key + "r")
        assert mla0.set(key + "m", torch.ones(8))
        assert mla1.exists(key + "m")
    finally:
        for b in (rank0, rank1, mla0, mla1):
            b.close()


class HostPool:
    """SGLang's host KV pool as the page interface sees it: per page, the addresses and sizes of K and V."""

    def __init__(self, pages, page_elements):
        self.k = torch.zeros(pages, page_elements)
        self.v = torch.zeros(pages, page_elements)

    def get_page_buffer_meta(self, host_indices):
        addresses, sizes = [], []
        for page in host_indices:
            for t in (self.k, self.v):
                addresses.append(t[page].data_ptr())
                sizes.append(t[page].numel() * t.element_size())
        return addresses, sizes


def test_page_interface_moves_k_and_v_straight_from_and_into_the_host_pool(server_address, key):
    writer, reader = backend(server_address), backend(server_address)
    try:
        source, target = HostPool(4, 512), HostPool(4, 512)
        source.k.copy_(torch.randn(4, 512))
        source.v.copy_(torch.randn(4, 512))
        writer.register_mem_pool_host(source)
        reader.register_mem_pool_host(target)
        keys = [f"{key}page{i}" for i in range(2)]
        assert writer.batch_set_v1(keys, [1, 3]) == [True, True]
        assert reader.batch_get_v1(keys + [key + "missing"], [0, 2, 1]) == [True, True, False]
        assert torch.equal(target.k[0], source.k[1]) and torch.equal(target.v[2], source.v[3])
        assert not target.k[1].any()
    finally:
        writer.close()
        reader.close()


def test_full_store_is_not_an_error(hicache, key, full_store):
    assert hicache.set(key + "big", torch.zeros(1 << 18)) is False
    assert hicache.batch_set([key + "a"], [torch.zeros(1 << 18)]) is False
    assert hicache.batch_exists([key + "big"]) == 0
