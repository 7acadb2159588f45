"""The vLLM connector driven the way vLLM drives it (restated in tests/engines/vllm, vLLM main of autumn 2026): built
by KVConnectorFactory once per role and worker process, planned by the scheduler, run by each worker around its
forward pass, against a real Crescent server."""
import itertools
from types import SimpleNamespace

import pytest
import torch

from vllm.distributed.kv_transfer.kv_connector.factory import KVConnectorFactory
from vllm.distributed.kv_transfer.kv_connector.v1 import KVConnectorRole
from vllm.distributed.parallel_state import initialize_model_parallel
from vllm.v1.core.kv_cache_utils import block_hashes
from vllm.v1.core.sched.output import CachedRequestData, NewRequestData, SchedulerOutput
from vllm.v1.worker.kv_connector_model_runner_mixin import execute_with_connector

BLOCK = 16
LAYERS = ("model.layers.0.attn", "model.layers.1.attn")


def vllm_config(address, prefix, tp=1, pp=1, policy="recompute"):
    return SimpleNamespace(
        kv_transfer_config=SimpleNamespace(
            kv_connector="CrescentConnectorV1", kv_connector_module_path="crescent.adapters.vllm",
            kv_load_failure_policy=policy,
            kv_connector_extra_config={"master_server_address": address, "key_prefix": prefix}),
        cache_config=SimpleNamespace(block_size=BLOCK, cache_dtype="auto"),
        model_config=SimpleNamespace(model="test-model", dtype="float32"),
        parallel_config=SimpleNamespace(tensor_parallel_size=tp, pipeline_parallel_size=pp),
        scheduler_config=SimpleNamespace(disable_hybrid_kv_cache_manager=False))


def kv_cache_config(groups=1):
    return SimpleNamespace(kv_cache_groups=[SimpleNamespace() for _ in range(groups)])


class Engine:
    """One vLLM instance: a scheduler-side connector and one worker-side connector per (tp, pp) rank, each worker
    with CPU KV caches in the FlashAttention layout [2, num_blocks, block_size, kv_heads, head_size]."""

    def __init__(self, address, prefix, tp=1, pp=1, blocks=32):
        config = vllm_config(address, prefix, tp, pp)
        self.scheduler = KVConnectorFactory.create_connector(config, KVConnectorRole.SCHEDULER, kv_cache_config())
        self.workers = {}
        for pp_rank, tp_rank in itertools.product(range(pp), range(tp)):
            initialize_model_parallel(tp_rank, tp, pp_rank, pp)
            worker = KVConnectorFactory.create_connector(config, KVConnectorRole.WORKER, kv_cache_config())
            caches = {name: torch.zeros(2, blocks, BLOCK, 2, 8) for name in LAYERS}
            worker.register_kv_caches(caches)
            self.workers[(tp_rank, pp_rank)] = (worker, caches)
        initialize_model_parallel(0, 1)

    def schedule_new(self, request, block_ids, local_tokens=0, scheduled=None):
        """Scheduler.schedule() for a waiting request: look up, allocate, plan (vllm/v1/core/sched/scheduler.py)."""
        external, _ = self.scheduler.get_num_new_matched_tokens(request, local_tokens)
        self.scheduler.update_state_after_alloc(request, SimpleNamespace(), external)
        computed = local_tokens + external
        scheduled = request.num_prompt_tokens - computed if scheduled is None else scheduled
        output = SchedulerOutput(
            scheduled_new_reqs=[NewRequestData(request.request_id, request.prompt_token_ids, (block_ids,), computed)],
            scheduled_cached_reqs=CachedRequestData.make_empty(), num_scheduled_tokens={request.request_id: scheduled})
        output.kv_connector_metadata = self.scheduler.build_connector_meta(output)
        return external, output

    def execute(self, output):
        """Every worker runs the step; answers the block ids each worker failed to load."""
        return {rank: execute_with_connector(worker, output, caches)[1]
                for rank, (worker, caches) in self.workers.items()}

    def step(self, request, block_ids):
        external, output = self.schedule_new(request, block_ids)
        errors = self.execute(output)
        self.scheduler.request_finished(request, block_ids)
        return external, output.kv_connector_metadata, errors

    def caches(self, tp_rank=0, pp_rank=0):
        return self.workers[(tp_rank, pp_rank)][1]

    def fill(self):
        for rank, (_, caches) in self.workers.items():
            for cache in caches.values():
                cache.copy_(torch.randn_like(cache))

    def close(self):
        self.scheduler.shutdown()
        for worker, _ in self.workers.values():
            worker.shutdown()


def request(request_id, tokens, embeds=False, **extras):
    """vllm/v1/request.py's Request as connectors see it, with its block hashes."""
    hashes = block_hashes(BLOCK, tokens, len(tokens), **extras)
    return SimpleNamespace(request_id=request_id, prompt_token_ids=None if embeds else tokens,
                           num_prompt_tokens=len(tokens), block_hashes=hashes)


@pytest.fixture
def engines(server_address, key):
    made = []

    def make(tp=1, pp=1):
        engine = Engine(server_address, key, tp, pp)
        made.append(engine)
        return engine
    yield make
    for engine in made:
        engine.close()


def test_the_factory_builds_both_roles_with_the_three_argument_constructor(server_address, key):
    config = vllm_config(server_address, key)
    for role in KVConnectorRole:
        connector = KVConnectorFactory.create_connector(config, role, kv_cache_config())
        assert connector.role == role and connector._kv_cache_config is not None
        connector.shutdown()


def test_a_hybrid_model_is_refused_at_start_up_with_the_flag_to_set(server_address, key):
    with pytest.raises(ValueError, match="disable-hybrid-kv-cache-manager"):
        KVConnectorFactory.create_connector(vllm_config(server_address, key), KVConnectorRole.SCHEDULER,
                                            kv_cache_config(groups=2))


@pytest.mark.parametrize("tp,pp", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_every_rank_gets_its_own_shard_back(engines, tp, pp):
    a, b = engines(tp, pp), engines(tp, pp)
    a.fill()
    prompt = list(range(1000, 1000 + 4 * BLOCK + 5))  # 4 full blocks and a partial one
    external, meta, _ = a.step(request("r1", prompt), [3, 7, 9, 11, 12])
    assert external == 0 and [len(s.hashes) for s in meta.saves] == [4]  # a miss; the 4 full blocks are saved

    external, meta, errors = b.step(request("r2", prompt), [20, 21, 22, 23, 24])
    assert external == 4 * BLOCK and meta.loads[0].block_ids == [20, 21, 22, 23]
    assert all(e == set() for e in errors.values())
    for rank in a.workers:
        for name in LAYERS:
            for a_block, b_block in zip([3, 7, 9, 11], [20, 21, 22, 23]):
                assert torch.equal(b.caches(*rank)[name][:, b_block], a.caches(*rank)[name][:, a_block])
            assert not b.caches(*rank)[name][:, 24].any()  # the partial block is computed, not loaded
    if len(a.workers) > 1:  # the ranks' shards really differ, so a rank given another's shard would fail above
        assert not torch.equal(a.caches(*list(a.workers)[0])[LAYERS[0]], a.caches(*list(a.workers)[1])[LAYERS[0]])


def test_a_block_is_a_hit_only_when_every_rank_saved_its_shard(engines):
    a, b = engines(tp=2), engines(tp=2)
    prompt = list(range(2 * BLOCK + 1))
    a.step(request("r1", prompt), [0, 1, 2])
    rank1_key = a.workers[(1, 0)][0]._keys([request("x", prompt).block_hashes[1].hex()])[0]
    assert a.scheduler.store.remove(rank1_key, force=True) == 0
    assert b.scheduler.get_num_new_matched_tokens(request("r2", prompt), 0) == (BLOCK, False)


def test_a_full_hit_still_leaves_one_token_to_compute_and_prefixes_diverge(engines):
    a, b = engines(), engines()
    prompt = list(range(3 * BLOCK))
    a.step(request("r1", prompt), [0, 1, 2])
    assert b.scheduler.get_num_new_matched_tokens(request("r2", prompt), 0) == (2 * BLOCK, False)
    assert b.scheduler.get_num_new_matched_tokens(request("r3", prompt), BLOCK) == (BLOCK, False)
    other = prompt[:BLOCK] + [7] * (2 * BLOCK)  # same first block, then different tokens
    assert b.scheduler.get_num_new_matched_tokens(request("r4", other), 0) == (BLOCK, False)
    assert b.scheduler.get_num_new_matched_tokens(request("r5", [5] * (3 * BLOCK)), 0) == (0, False)


@pytest.mark.parametrize("extras", [
    {"mm_features": [{"identifier": "image-b", "offset": 4, "length": 8}]},
    {"lora_name": "adapter-b"},
    {"cache_salt": "tenant-b"},
])
def test_images_lora_adapters_and_cache_salts_isolate_equal_tokens(engines, extras):
    a, b = engines(), engines()
    prompt = list(range(2000, 2000 + 2 * BLOCK + 1))
    first = {"mm_features": [{"identifier": "image-a", "offset": 4, "length": 8}]} if "mm_features" in extras \
        else {k: v.replace("-b", "-a") for k, v in extras.items()}
    a.step(request("r1", prompt, **first), [0, 1, 2])
    assert b.scheduler.get_num_new_matched_tokens(request("r2", prompt, **first), 0) == (2 * BLOCK, False)
    assert b.scheduler.get_num_new_matched_tokens(request("r3", prompt, **extras), 0) == (0, False)


def test_a_prompt_given_as_embeddings_is_looked_up_without_token_ids(engines):
    a, b = engines(), engines()
    tokens = list(range(3000, 3000 + 2 * BLOCK + 1))
    a.step(request("r1", tokens, embeds=True, prompt_embeds_hash="e1"), [0, 1, 2])
    assert b.scheduler.get_num_new_matched_tokens(
        request("r2", tokens, embeds=True, prompt_embeds_hash="e1"), 0) == (2 * BLOCK, False)


def test_a_resumed_request_loads_into_its_new_block_list(engines):
    a, b = engines(), engines()
    a.fill()
    prompt = list(range(4000, 4000 + 3 * BLOCK + 2))
    a.step(request("r1", prompt), [1, 2, 3, 4])
    r2 = request("r2", prompt)
    _, output = b.schedule_new(r2, [5, 6, 7, 8], scheduled=1)
    b.execute(output)
    # Preempted: its blocks are freed and reused; when it resumes the scheduler looks it up and allocates again,
    # and it comes back among the cached requests, flagged resumed, with the whole new block list.
    external, _ = b.scheduler.get_num_new_matched_tokens(r2, 0)
    b.scheduler.update_state_after_alloc(r2, SimpleNamespace(), external)
    cached = CachedRequestData(req_ids=["r2"], resumed_req_ids={"r2"}, new_token_ids=[[]], all_token_ids={},
                               new_block_ids=[([12, 13, 14, 15],)], num_computed_tokens=[external],
                               num_output_tokens=[0])
    output = SchedulerOutput([], cached, {"r2": len(prompt) - external})
    output.kv_connector_metadata = b.scheduler.build_connector_meta(output)
    assert [load.block_ids for load in output.kv_connector_metadata.loads] == [[12, 13, 14]]
    assert b.execute(output) == {(0, 0): set()}
    for name in LAYERS:
        for a_block, b_block in zip([1, 2, 3], [12, 13, 14]):
            assert torch.equal(b.caches()[name][:, b_block], a.caches()[name][:, a_block])


def test_an_object_of_another_size_under_the_key_is_a_failed_load_not_a_short_block(engines):
    a, b = engines(), engines()
    prompt = list(range(5000, 5000 + 2 * BLOCK + 1))
    a.step(request("r1", prompt), [1, 2, 3])
    worker = a.workers[(0, 0)][0]
    short = worker._keys([request("x", prompt).block_hashes[0].hex()])[0]
    assert worker.store.upsert(short, b"\x01" * 64) == 0
    _, output = b.schedule_new(request("r2", prompt), [5, 6, 7])
    assert b.execute(output) == {(0, 0): {5}}  # reported, so vLLM recomputes block 5 over whatever was read


def test_a_block_lost_before_loading_is_reported(engines):
    a, b = engines(), engines()
    prompt = list(range(500, 500 + 3 * BLOCK + 1))
    a.step(request("r1", prompt), [1, 2, 3, 4])
    r2 = request("r2", prompt)
    lost = a.workers[(0, 0)][0]._keys([r2.block_hashes[1].hex()])[0]
    external, output = b.schedule_new(r2, [5, 6, 7, 8])
    assert external == 3 * BLOCK
    assert a.scheduler.store.remove(lost, force=True) == 0
    assert b.execute(output) == {(0, 0): {6}}


def test_chunked_prefill_saves_blocks_as_they_complete(engines):
    a = engines()
    prompt = list(range(4 * BLOCK))
    r = request("r1", prompt)
    _, first = a.schedule_new(r, [0, 1], scheduled=2 * BLOCK + 3)
    cached = CachedRequestData(req_ids=["r1"], resumed_req_ids=set(), new_token_ids=[[]], all_token_ids={},
                               new_block_ids=[([2, 3],)], num_computed_tokens=[2 * BLOCK + 3], num_output_tokens=[0])
    second = SchedulerOutput([], cached, {"r1": 2 * BLOCK - 3})
    second.kv_connector_metadata = a.scheduler.build_connector_meta(second)
    assert [s.block_ids for s in first.kv_connector_metadata.saves] == [[0, 1]]
    assert [s.block_ids for s in second.kv_connector_metadata.saves] == [[2, 3]]


def test_full_store_skips_saving_without_failing_the_step(engines, full_store):
    a, b = engines(), engines()
    prompt = list(range(9000, 9000 + 2 * BLOCK + 1))
    a.step(request("r1", prompt), [0, 1, 2])  # must not raise
    assert b.scheduler.get_num_new_matched_tokens(request("r2", prompt), 0) == (0, False)


def test_a_lookup_larger_than_one_batch_call_is_asked_in_parts(engines, monkeypatch):
    import crescent.adapters.vllm as adapter
    a, b = engines(tp=2), engines(tp=2)
    prompt = list(range(6000, 6000 + 5 * BLOCK + 1))
    a.step(request("r1", prompt), [0, 1, 2, 3, 4, 5])
    monkeypatch.setattr(adapter, "_LOOKUP_KEYS", 4)  # two blocks of two shards per call: three calls
    assert b.scheduler.get_num_new_matched_tokens(request("r2", prompt), 0) == (5 * BLOCK, False)
    assert b.scheduler.get_num_new_matched_tokens(request("r3", prompt[:3 * BLOCK] + [1] * (2 * BLOCK + 1)), 0) \
        == (3 * BLOCK, False)
