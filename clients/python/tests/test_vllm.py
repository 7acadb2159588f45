from types import SimpleNamespace

import pytest
import torch

from crescent.adapters.vllm import CrescentConnectorV1, KVConnectorRole

BLOCK = 16
LAYERS = ("model.layers.0.attn", "model.layers.1.attn")


def vllm_config(address, prefix):
    return SimpleNamespace(
        kv_transfer_config=SimpleNamespace(kv_connector_extra_config={"master_server_address": address,
                                                                      "key_prefix": prefix}),
        cache_config=SimpleNamespace(block_size=BLOCK), model_config=SimpleNamespace(model="test-model"))


class Engine:
    """One vLLM instance as the connector sees it: a scheduler-side and a worker-side connector, and CPU KV caches
    in the FlashAttention layout [2, num_blocks, block_size, kv_heads, head_size]."""

    def __init__(self, address, prefix, blocks=32):
        config = vllm_config(address, prefix)
        self.scheduler = CrescentConnectorV1(config, KVConnectorRole.SCHEDULER)
        self.worker = CrescentConnectorV1(config, KVConnectorRole.WORKER)
        self.caches = {name: torch.zeros(2, blocks, BLOCK, 2, 8) for name in LAYERS}
        self.worker.register_kv_caches(self.caches)

    def step(self, request, block_ids, computed=0):
        """One scheduling step of a new request: match, allocate, run (load, then save)."""
        external, _ = self.scheduler.get_num_new_matched_tokens(request, computed)
        self.scheduler.update_state_after_alloc(request, Blocks(block_ids), external)
        output = SimpleNamespace(
            scheduled_new_reqs=[SimpleNamespace(req_id=request.request_id, prompt_token_ids=request.prompt_token_ids,
                                                block_ids=(block_ids,), num_computed_tokens=computed + external)],
            num_scheduled_tokens={request.request_id: len(request.prompt_token_ids) - computed - external},
            scheduled_cached_reqs=SimpleNamespace(req_ids=[]))
        meta = self.scheduler.build_connector_meta(output)
        self.worker.bind_connector_metadata(meta)
        self.worker.start_load_kv(forward_context=None)
        for name in LAYERS:
            self.worker.wait_for_layer_load(name)
            self.worker.save_kv_layer(name, self.caches[name], None)
        self.worker.wait_for_save()
        self.worker.clear_connector_metadata()
        self.scheduler.request_finished(request, block_ids)
        return external, meta

    def close(self):
        self.scheduler.store.close()
        self.worker.store.close()


class Blocks:
    def __init__(self, ids):
        self.ids = ids

    def get_block_ids(self):
        return (self.ids,)


def request(request_id, tokens):
    return SimpleNamespace(request_id=request_id, prompt_token_ids=tokens)


@pytest.fixture
def engines(server_address, key):
    a, b = Engine(server_address, key), Engine(server_address, key)
    yield a, b
    a.close()
    b.close()


def test_second_engine_loads_the_prefix_the_first_one_computed(engines):
    a, b = engines
    prompt = list(range(1000, 1000 + 4 * BLOCK + 5))  # 4 full blocks and a partial one
    for cache in a.caches.values():
        cache.copy_(torch.randn_like(cache))
    external, meta = a.step(request("r1", prompt), [3, 7, 9, 11, 12])
    assert external == 0 and [len(s.keys) for s in meta.saves] == [4]  # a miss; the 4 full blocks are saved

    external, meta = b.step(request("r2", prompt), [20, 21, 22, 23, 24])
    assert external == 4 * BLOCK and meta.loads[0].block_ids == [20, 21, 22, 23]
    for name in LAYERS:
        for a_block, b_block in zip([3, 7, 9, 11], [20, 21, 22, 23]):
            assert torch.equal(b.caches[name][:, b_block], a.caches[name][:, a_block])
    assert not b.caches[LAYERS[0]][:, 24].any()  # the partial block is computed, not loaded
    assert b.worker.get_block_ids_with_load_errors() == set()


def test_a_full_hit_still_leaves_one_block_to_compute_and_prefixes_diverge(engines):
    a, b = engines
    prompt = list(range(3 * BLOCK))
    a.step(request("r1", prompt), [0, 1, 2])
    assert b.scheduler.get_num_new_matched_tokens(request("r2", prompt), 0) == (2 * BLOCK, False)
    assert b.scheduler.get_num_new_matched_tokens(request("r3", prompt), BLOCK) == (BLOCK, False)
    other = prompt[:BLOCK] + [7] * (2 * BLOCK)  # same first block, then different tokens
    assert b.scheduler.get_num_new_matched_tokens(request("r4", other), 0) == (BLOCK, False)
    assert b.scheduler.get_num_new_matched_tokens(request("r5", [5] * (3 * BLOCK)), 0) == (0, False)


def test_a_block_lost_before_loading_is_reported_for_recompute(engines, server_address):
    a, b = engines
    prompt = list(range(500, 500 + 3 * BLOCK + 1))
    a.step(request("r1", prompt), [1, 2, 3, 4])
    r2 = request("r2", prompt)
    external, _ = b.scheduler.get_num_new_matched_tokens(r2, 0)
    assert external == 3 * BLOCK
    lost_key = b.scheduler._requests["r2"].keys[1]
    assert a.worker.store.remove(lost_key, force=True) == 0
    b.scheduler.update_state_after_alloc(r2, Blocks([5, 6, 7, 8]), external)
    meta = b.scheduler.build_connector_meta(SimpleNamespace(
        scheduled_new_reqs=[SimpleNamespace(req_id="r2", prompt_token_ids=prompt, block_ids=([5, 6, 7, 8],),
                                            num_computed_tokens=external)],
        num_scheduled_tokens={"r2": 1}, scheduled_cached_reqs=SimpleNamespace(req_ids=[])))
    b.worker.bind_connector_metadata(meta)
    b.worker.start_load_kv(None)
    assert b.worker.get_block_ids_with_load_errors() == {6}


def test_chunked_prefill_saves_blocks_as_they_complete(engines):
    a, _ = engines
    prompt = list(range(4 * BLOCK))
    r = request("r1", prompt)
    external, _ = a.scheduler.get_num_new_matched_tokens(r, 0)
    a.scheduler.update_state_after_alloc(r, Blocks([0, 1]), external)
    first = a.scheduler.build_connector_meta(SimpleNamespace(
        scheduled_new_reqs=[SimpleNamespace(req_id="r1", prompt_token_ids=prompt, block_ids=([0, 1],),
                                            num_computed_tokens=0)],
        num_scheduled_tokens={"r1": 2 * BLOCK + 3}, scheduled_cached_reqs=SimpleNamespace(req_ids=[])))
    second = a.scheduler.build_connector_meta(SimpleNamespace(
        scheduled_new_reqs=[], num_scheduled_tokens={"r1": 2 * BLOCK - 3},
        scheduled_cached_reqs=SimpleNamespace(req_ids=["r1"], new_block_ids=[([2, 3],)],
                                              num_computed_tokens=[2 * BLOCK + 3])))
    assert [s.block_ids for s in first.saves] == [[0, 1]]
    assert [s.block_ids for s in second.saves] == [[2, 3]]


def test_full_store_skips_saving_without_failing_the_step(engines, full_store):
    a, b = engines
    prompt = list(range(9000, 9000 + 2 * BLOCK + 1))
    a.step(request("r1", prompt), [0, 1, 2])  # must not raise
    assert b.scheduler.get_num_new_matched_tokens(request("r2", prompt), 0) == (0, False)
