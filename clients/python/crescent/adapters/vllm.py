"""vLLM V1 KV connector, store mode: prefill KV blocks are saved to Crescent keyed by vLLM's own block hashes, and
any engine instance that later sees the same prompt prefix loads them instead of recomputing them.

Enable it with::

    --kv-transfer-config '{"kv_connector": "CrescentConnectorV1",
      "kv_connector_module_path": "crescent.adapters.vllm", "kv_role": "kv_both",
      "kv_load_failure_policy": "recompute",
      "kv_connector_extra_config": {"master_server_address": "crescent-master:8080"}}'

and the same ``PYTHONHASHSEED`` on every instance that should share blocks (vLLM seeds its block-hash chain from it;
without it each process draws a random seed and instances only ever hit their own blocks).

Keys. A block's key is vLLM's ``request.block_hashes`` entry for it (a chain over every token before it, and over
the request's multimodal inputs, LoRA adapter, ``cache_salt`` and prompt embeddings), under the model, the KV dtype,
the block size and the worker's place in the model: ``tp<rank>of<size>/pp<rank>of<size>``. Each worker process
saves and loads its own shard under its own rank, read from vLLM's parallel state when the worker connector is built
(the scheduler process has no rank: it only plans). A block is a hit when every shard of it exists.

One object per block and rank: the block's K and V of every layer back to back (a multi-buffer put, no assembly
copy). An object of another size under the key is a failed load, never a short block taken as whole.

Behaviour vLLM relies on:
- a miss costs nothing: ``get_num_new_matched_tokens`` answers 0 and the blocks are computed;
- at least one prompt token is always left to compute (vLLM needs one to sample from);
- back-pressure (-200: the store is full) and other refused saves are logged and skipped, never raised;
- a block that fails to load after being promised is reported by ``get_block_ids_with_load_errors``; with
  ``kv_load_failure_policy: recompute`` vLLM recomputes it, with vLLM's default ``fail`` it fails the request, so
  the connector warns at start-up when the policy is ``fail``;
- a preempted request that resumes gets its blocks loaded again into its new block list.
Loads run in ``start_load_kv`` and saves in ``wait_for_save`` (all layers at once, one batch each). KV caches on
a GPU are staged through CPU memory; CPU caches are read and written in place.

Restated interfaces: vLLM main of autumn 2026 (``KVConnectorBase_V1.__init__(vllm_config, role, kv_cache_config)``,
``SupportsHMA``, ``CachedRequestData.resumed_req_ids``, ``Request.block_hashes``).
"""
import enum
from dataclasses import dataclass, field

from ._common import connect, leading_hits, log, note_puts

try:  # The real base classes when vLLM is installed (or the tests' restatement of them).
    from vllm.distributed.kv_transfer.kv_connector.v1.base import (KVConnectorBase_V1, KVConnectorMetadata,
                                                                   KVConnectorRole, SupportsHMA)
except ImportError:
    class KVConnectorRole(enum.Enum):
        SCHEDULER = 0
        WORKER = 1

    class KVConnectorMetadata:
        pass

    class SupportsHMA:
        pass

    class KVConnectorBase_V1:
        """Stands in only so the module imports without vLLM; vLLM itself always supplies the real base."""

        def __init__(self, vllm_config, role, kv_cache_config=None):
            self._vllm_config = vllm_config
            self._role = role
            self._connector_metadata = None

        def bind_connector_metadata(self, connector_metadata):
            self._connector_metadata = connector_metadata

        def clear_connector_metadata(self):
            self._connector_metadata = None

        def _get_connector_metadata(self):
            assert self._connector_metadata is not None, "no connector metadata bound"
            return self._connector_metadata


# Keys per existence call: well under the master's batch limit (16384 keys).
_LOOKUP_KEYS = 4096


@dataclass
class BlockTransfer:
    """Blocks of one request to move: their block hashes (hex) and, parallel to them, the KV cache block ids."""
    request_id: str
    hashes: list
    block_ids: list


@dataclass
class CrescentConnectorMetadata(KVConnectorMetadata):
    loads: list = field(default_factory=list)
    saves: list = field(default_factory=list)


@dataclass
class _RequestState:
    """Scheduler-side view of a request: its prompt blocks' hashes, its block ids, and how far it is loaded/saved."""
    hashes: list
    block_ids: list = field(default_factory=list)
    load_from_block: int = 0
    load_to_block: int = 0
    saved_blocks: int = 0
    computed_tokens: int = 0
    local_tokens: int = 0


class ShardKeys:
    """Names the objects of a block: one per (tensor-parallel rank, pipeline stage) of the model."""

    def __init__(self, vllm_config, extra: dict):
        model = getattr(vllm_config.model_config, "model", "model")
        dtype = getattr(vllm_config.cache_config, "cache_dtype", "auto")
        if dtype in (None, "auto"):
            dtype = str(getattr(vllm_config.model_config, "dtype", "auto")).removeprefix("torch.")
        parallel = getattr(vllm_config, "parallel_config", None)
        self.tp_size = int(getattr(parallel, "tensor_parallel_size", 1) or 1)
        self.pp_size = int(getattr(parallel, "pipeline_parallel_size", 1) or 1)
        block_size = vllm_config.cache_config.block_size
        self.prefix = f"{extra.get('key_prefix', 'vllm')}/{model}/{dtype}/b{block_size}/"

    def key(self, block_hash: str, tp_rank: int, pp_rank: int) -> str:
        return f"{self.prefix}tp{tp_rank}of{self.tp_size}/pp{pp_rank}of{self.pp_size}/{block_hash}"

    def every_shard(self, block_hash: str) -> list:
        return [self.key(block_hash, t, p) for p in range(self.pp_size) for t in range(self.tp_size)]


class CrescentConnectorV1(KVConnectorBase_V1, SupportsHMA):
    def __init__(self, vllm_config, role, kv_cache_config=None):
        super().__init__(vllm_config, role, kv_cache_config)
        _require_one_kv_cache_group(kv_cache_config)
        transfer_config = vllm_config.kv_transfer_config
        extra = dict(getattr(transfer_config, "kv_connector_extra_config", None) or {})
        self.block_size = vllm_config.cache_config.block_size
        self.shards = ShardKeys(vllm_config, extra)
        self.role_is_worker = role == KVConnectorRole.WORKER
        self.tp_rank, self.pp_rank = _worker_ranks() if self.role_is_worker else (0, 0)
        if not self.role_is_worker and getattr(transfer_config, "kv_load_failure_policy", "recompute") == "fail":
            log.warning("vllm: kv_load_failure_policy is 'fail': a Crescent block evicted between lookup and load "
                        "fails its request; set it to 'recompute' to recompute such blocks instead")
        self.store = connect(extra)
        self._requests = {}
        self._kv_caches = {}
        self._load_errors = set()

    # ---- scheduler side --------------------------------------------------------------------------------------

    def get_num_new_matched_tokens(self, request, num_computed_tokens):
        """Tokens beyond ``num_computed_tokens`` (vLLM's own prefix cache hits) whose KV is in Crescent: a prefix
        of whole blocks whose every shard exists. Asking again gives the same answer."""
        state = self._state(request)
        hits = self._stored_prefix(state.hashes)
        prompt_tokens = _prompt_tokens(request)
        if hits * self.block_size >= prompt_tokens:
            hits = (prompt_tokens - 1) // self.block_size
        state.local_tokens = num_computed_tokens
        new_tokens = hits * self.block_size - num_computed_tokens
        return (new_tokens, False) if new_tokens > 0 else (0, False)

    def update_state_after_alloc(self, request, blocks, num_external_tokens):
        state = self._state(request)
        if num_external_tokens > 0:
            state.load_from_block = state.local_tokens // self.block_size
            state.load_to_block = (state.local_tokens + num_external_tokens) // self.block_size

    def build_connector_meta(self, scheduler_output):
        meta = CrescentConnectorMetadata()
        for new in scheduler_output.scheduled_new_reqs:
            state = self._requests.get(new.req_id)
            if state is None:
                continue  # never looked up by this connector (e.g. another connector of a MultiConnector owns it)
            state.block_ids = list(new.block_ids[0])
            state.computed_tokens = new.num_computed_tokens
            self._add_load(meta, new.req_id, state)
            self._add_saves(meta, new.req_id, state, scheduler_output.num_scheduled_tokens.get(new.req_id, 0))
        cached = scheduler_output.scheduled_cached_reqs
        resumed = getattr(cached, "resumed_req_ids", None) or set()
        for i, req_id in enumerate(cached.req_ids):
            state = self._requests.get(req_id)
            if state is None:
                continue
            new_blocks = cached.new_block_ids[i]
            if req_id in resumed:  # a preempted request back: its block list starts over
                state.block_ids = list(new_blocks[0]) if new_blocks else []
            elif new_blocks:
                state.block_ids.extend(new_blocks[0])
            state.computed_tokens = cached.num_computed_tokens[i]
            self._add_load(meta, req_id, state)
            self._add_saves(meta, req_id, state, scheduler_output.num_scheduled_tokens.get(req_id, 0))
        return meta

    def request_finished(self, request, block_ids):
        self._requests.pop(request.request_id, None)
        return False, None  # saves are done by the end of the step, so the blocks may be freed at once

    def request_finished_all_groups(self, request, block_ids):
        return self.request_finished(request, block_ids[0] if block_ids else [])

    def _stored_prefix(self, hashes) -> int:
        """How many leading blocks have every shard in Crescent, asked a batch of blocks at a time (a long prompt
        on many ranks has more shards than one batch call carries) and no further than the first missing block."""
        shards = self.shards.tp_size * self.shards.pp_size
        per_call = max(1, _LOOKUP_KEYS // shards)
        hits = 0
        for start in range(0, len(hashes), per_call):
            batch = hashes[start:start + per_call]
            codes = self.store.batch_is_exist([k for h in batch for k in self.shards.every_shard(h)])
            whole = [all(c == 1 for c in codes[i * shards:(i + 1) * shards]) for i in range(len(batch))]
            found = leading_hits([1 if w else 0 for w in whole])
            hits += found
            if found < len(batch):
                break
        return hits

    def _add_load(self, meta, req_id, state):
        if state.load_to_block > state.load_from_block:
            span = range(state.load_from_block, state.load_to_block)
            meta.loads.append(BlockTransfer(req_id, [state.hashes[i] for i in span],
                                            [state.block_ids[i] for i in span]))
            state.saved_blocks = max(state.saved_blocks, state.load_to_block)  # loaded blocks are in Crescent
            state.load_from_block = state.load_to_block = 0

    def _add_saves(self, meta, req_id, state, scheduled_tokens):
        """Saves the prompt blocks this step completes (chunked prefill completes them over several steps)."""
        full = min(len(state.hashes), (state.computed_tokens + scheduled_tokens) // self.block_size,
                   len(state.block_ids))
        if full > state.saved_blocks:
            span = range(state.saved_blocks, full)
            meta.saves.append(BlockTransfer(req_id, [state.hashes[i] for i in span],
                                            [state.block_ids[i] for i in span]))
            state.saved_blocks = full

    def _state(self, request) -> _RequestState:
        state = self._requests.get(request.request_id)
        if state is None:
            state = _RequestState(self._prompt_block_hashes(request))
            self._requests[request.request_id] = state
        return state

    def _prompt_block_hashes(self, request) -> list:
        """vLLM's hashes of the request's full prompt blocks (empty when prefix caching is off: nothing to share)."""
        hashes = list(getattr(request, "block_hashes", None) or [])
        publishable = getattr(request, "num_publishable_block_hashes", None)
        if publishable is not None:
            hashes = hashes[:publishable]
        return [bytes(h).hex() for h in hashes[:_prompt_tokens(request) // self.block_size]]

    # ---- worker side -----------------------------------------------------------------------------------------

    def register_kv_caches(self, kv_caches: dict):
        """Layer name -> KV cache tensor: [2, num_blocks, ...] (K and V apart) or [num_blocks, ...] (MLA)."""
        self._kv_caches = dict(kv_caches)

    def start_load_kv(self, forward_context, **kwargs):
        meta = self._get_connector_metadata()
        for load in meta.loads:
            parts = [self._block_parts(b) for b in load.block_ids]
            staged = [[_host(p) for p in block] for block in parts]
            codes = self.store.batch_get_into_multi_buffers(self._keys(load.hashes), staged)
            for block_id, block, host, code in zip(load.block_ids, parts, staged, codes):
                expected = sum(p.numel() * p.element_size() for p in block)
                if code != expected:
                    self._load_errors.add(block_id)
                    log.warning("vllm: block %d of %s failed to load (%d, %d bytes expected); it is not used",
                                block_id, load.request_id, code, expected)
                    continue
                for device_part, host_part in zip(block, host):
                    if device_part.data_ptr() != host_part.data_ptr():
                        device_part.copy_(host_part)

    def wait_for_layer_load(self, layer_name):
        pass  # start_load_kv loads every layer before the forward pass starts.

    def save_kv_layer(self, layer_name, kv_layer, attn_metadata, **kwargs):
        pass  # wait_for_save saves every layer of a block in one object once the forward pass is done.

    def wait_for_save(self):
        meta = self._get_connector_metadata()
        for save in meta.saves:
            keys = self._keys(save.hashes)
            exists = self.store.batch_is_exist(keys)
            todo = [(k, b) for k, b, e in zip(keys, save.block_ids, exists) if e != 1]
            if todo:
                note_puts("vllm", self.store.batch_put_from_multi_buffers(
                    [k for k, _ in todo], [[_host(p) for p in self._block_parts(b)] for _, b in todo]))

    def get_finished(self, finished_req_ids):
        return None, None

    def get_block_ids_with_load_errors(self) -> set:
        errors, self._load_errors = self._load_errors, set()
        return errors

    def shutdown(self):
        self.store.close()

    def _keys(self, hashes) -> list:
        return [self.shards.key(h, self.tp_rank, self.pp_rank) for h in hashes]

    def _block_parts(self, block_id) -> list:
        """One block's KV, layer by layer, as contiguous tensors (K then V when the cache keeps them apart)."""
        parts = []
        for cache in self._kv_caches.values():
            if cache.dim() >= 2 and cache.shape[0] == 2:
                parts.extend((cache[0, block_id], cache[1, block_id]))
            else:
                parts.append(cache[block_id])
        return parts


def _require_one_kv_cache_group(kv_cache_config):
    """The connector moves one block list per request; hybrid models (several KV cache groups) are refused at
    start-up rather than served wrong."""
    groups = getattr(kv_cache_config, "kv_cache_groups", None)
    if groups is not None and len(groups) > 1:
        raise ValueError(f"CrescentConnectorV1 supports one KV cache group, this model has {len(groups)}: "
                         "start vLLM with --disable-hybrid-kv-cache-manager")


def _prompt_tokens(request) -> int:
    """Prompt length, also for prompts given as embeddings (``prompt_token_ids`` is None then)."""
    count = getattr(request, "num_prompt_tokens", None)
    if count is None:
        count = len(request.prompt_token_ids or ())
    return count


def _host(tensor):
    """A CPU view (CPU caches: the block itself) or a staged CPU copy (GPU caches)."""
    return tensor if tensor.device.type == "cpu" else tensor.to("cpu")


def _worker_ranks() -> tuple:
    """This worker's tensor-parallel rank and pipeline stage, from vLLM's parallel state (initialised before the
    worker-side connector is built)."""
    from vllm.distributed.parallel_state import get_pp_group, get_tensor_model_parallel_rank
    return get_tensor_model_parallel_rank(), get_pp_group().rank_in_group
