"""vLLM V1 KV connector, store mode: prefill KV blocks are saved to Crescent keyed by block hash, and any engine
instance that later sees the same prompt prefix loads them instead of recomputing them.

Enable it with::

    --kv-transfer-config '{"kv_connector": "CrescentConnectorV1",
      "kv_connector_module_path": "crescent.adapters.vllm", "kv_role": "kv_both",
      "kv_connector_extra_config": {"master_server_address": "crescent-master:8080"}}'

One object per block: the block's K and V of every layer back to back (a multi-buffer put, no assembly copy).
Its key is a chained SHA-256 of the prompt's tokens up to and including the block, under the model name and the
tensor-parallel rank, so equal prefixes give equal keys on every instance. Only full prompt blocks are saved.

Behaviour vLLM relies on:
- a miss costs nothing: ``get_num_new_matched_tokens`` answers 0 and the blocks are computed;
- at least one block is always left to compute (a full hit is cut by one block: vLLM needs a token to run);
- back-pressure (-200: the store is full) and other refused saves are logged and skipped, never raised;
- a block that fails to load after being promised is reported by ``get_block_ids_with_load_errors`` so vLLM
  recomputes it.
Loads run in ``start_load_kv`` and saves in ``wait_for_save`` (all layers at once, one batch each). KV caches on
a GPU are staged through CPU memory; CPU caches are read and written in place.
"""
import enum
import hashlib
from dataclasses import dataclass, field

import torch

from ._common import connect, leading_hits, log, note_puts

try:  # The real base classes when vLLM is installed; the adapter also works (and is tested) without them.
    from vllm.distributed.kv_transfer.kv_connector.v1.base import (KVConnectorBase_V1, KVConnectorMetadata,
                                                                   KVConnectorRole)
except ImportError:
    class KVConnectorRole(enum.Enum):
        SCHEDULER = 0
        WORKER = 1

    class KVConnectorMetadata:
        pass

    class KVConnectorBase_V1:
        """The parts of vLLM's base class this connector uses."""

        def __init__(self, vllm_config, role):
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


@dataclass
class BlockTransfer:
    """Blocks of one request to move: their keys and, parallel to them, the KV cache block ids."""
    request_id: str
    keys: list
    block_ids: list


@dataclass
class CrescentConnectorMetadata(KVConnectorMetadata):
    loads: list = field(default_factory=list)
    saves: list = field(default_factory=list)


@dataclass
class _RequestState:
    """Scheduler-side view of a request: its full-block keys, its block ids, and how far it is loaded/saved."""
    keys: list
    block_ids: list = field(default_factory=list)
    loaded_blocks: int = 0
    load_from_block: int = 0
    saved_blocks: int = 0
    computed_tokens: int = 0
    local_tokens: int = 0


class CrescentConnectorV1(KVConnectorBase_V1):
    def __init__(self, vllm_config, role, kv_cache_config=None):
        super().__init__(vllm_config, role)
        transfer_config = vllm_config.kv_transfer_config
        extra = dict(getattr(transfer_config, "kv_connector_extra_config", None) or {})
        self.block_size = vllm_config.cache_config.block_size
        model = getattr(vllm_config.model_config, "model", "model")
        rank = extra.get("tp_rank", _tensor_parallel_rank())
        self.key_prefix = f"{extra.get('key_prefix', 'vllm')}/{model}/tp{rank}/"
        self.store = connect(extra)
        self._requests = {}
        self._kv_caches = {}
        self._load_errors = set()

    # ---- scheduler side --------------------------------------------------------------------------------------

    def get_num_new_matched_tokens(self, request, num_computed_tokens):
        """Tokens beyond ``num_computed_tokens`` (vLLM's own prefix cache hits) whose KV is in Crescent: a prefix
        of whole blocks. Asking again gives the same answer; the last answer is what a load will fetch."""
        state = self._state(request)
        hits = leading_hits(self.store.batch_is_exist(state.keys)) if state.keys else 0
        if hits * self.block_size >= len(request.prompt_token_ids):
            hits -= 1
        state.local_tokens = num_computed_tokens
        new_tokens = hits * self.block_size - num_computed_tokens
        return (new_tokens, False) if new_tokens > 0 else (0, False)

    def update_state_after_alloc(self, request, blocks, num_external_tokens):
        state = self._state(request)
        if num_external_tokens > 0:
            state.load_from_block = state.local_tokens // self.block_size
            state.loaded_blocks = (state.local_tokens + num_external_tokens) // self.block_size

    def build_connector_meta(self, scheduler_output):
        meta = CrescentConnectorMetadata()
        for new in scheduler_output.scheduled_new_reqs:
            state = self._requests.get(new.req_id) or self._state_of(new.req_id, new.prompt_token_ids)
            state.block_ids = list(new.block_ids[0])
            state.computed_tokens = new.num_computed_tokens
            if state.loaded_blocks > state.load_from_block:
                span = range(state.load_from_block, state.loaded_blocks)
                meta.loads.append(BlockTransfer(new.req_id, [state.keys[i] for i in span],
                                                [state.block_ids[i] for i in span]))
                state.saved_blocks = state.loaded_blocks  # loaded blocks are already in Crescent
            self._add_saves(meta, new.req_id, state, scheduler_output.num_scheduled_tokens.get(new.req_id, 0))
        cached = getattr(scheduler_output, "scheduled_cached_reqs", None)
        for i, req_id in enumerate(getattr(cached, "req_ids", None) or []):
            state = self._requests.get(req_id)
            if state is None:
                continue
            new_blocks = cached.new_block_ids[i]
            if new_blocks:
                state.block_ids.extend(new_blocks[0])
            state.computed_tokens = cached.num_computed_tokens[i]
            self._add_saves(meta, req_id, state, scheduler_output.num_scheduled_tokens.get(req_id, 0))
        return meta

    def request_finished(self, request, block_ids):
        self._requests.pop(request.request_id, None)
        return False, None  # saves are done by the end of the step, so the blocks may be freed at once

    def _add_saves(self, meta, req_id, state, scheduled_tokens):
        """Saves the prompt blocks this step completes (chunked prefill completes them over several steps)."""
        full = min(len(state.keys), (state.computed_tokens + scheduled_tokens) // self.block_size,
                   len(state.block_ids))
        if full > state.saved_blocks:
            span = range(state.saved_blocks, full)
            meta.saves.append(BlockTransfer(req_id, [state.keys[i] for i in span], [state.block_ids[i] for i in span]))
            state.saved_blocks = full

    def _state(self, request) -> _RequestState:
        return self._requests.get(request.request_id) or self._state_of(request.request_id, request.prompt_token_ids)

    def _state_of(self, request_id, tokens) -> _RequestState:
        state = _RequestState(self._block_keys(tokens))
        self._requests[request_id] = state
        return state

    def _block_keys(self, tokens) -> list:
        """Chained hashes of the full blocks: a block's key covers every token before it too."""
        keys, parent = [], b""
        for start in range(0, len(tokens) - self.block_size + 1, self.block_size):
            block = torch.tensor(tokens[start:start + self.block_size], dtype=torch.int64).numpy().tobytes()
            parent = hashlib.sha256(parent + block).digest()
            keys.append(self.key_prefix + parent.hex()[:40])
        return keys

    # ---- worker side -----------------------------------------------------------------------------------------

    def register_kv_caches(self, kv_caches: dict):
        """Layer name -> KV cache tensor: [2, num_blocks, ...] (K and V apart) or [num_blocks, ...] (MLA)."""
        self._kv_caches = dict(kv_caches)

    def start_load_kv(self, forward_context, **kwargs):
        meta = self._get_connector_metadata()
        for load in meta.loads:
            parts = [self._block_parts(b) for b in load.block_ids]
            staged = [[_host(p) for p in block] for block in parts]
            codes = self.store.batch_get_into_multi_buffers(load.keys, staged)
            for block_id, block, host, code in zip(load.block_ids, parts, staged, codes):
                if code < 0:
                    self._load_errors.add(block_id)
                    log.warning("vllm: block %d of %s failed to load (%d); it will be recomputed",
                                block_id, load.request_id, code)
                else:
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
            exists = self.store.batch_is_exist(save.keys)
            todo = [(k, b) for k, b, e in zip(save.keys, save.block_ids, exists) if e != 1]
            if not todo:
                continue
            note_puts("vllm", self.store.batch_put_from_multi_buffers(
                [k for k, _ in todo], [[_host(p) for p in self._block_parts(b)] for _, b in todo]))

    def get_finished(self, finished_req_ids):
        return None, None

    def get_block_ids_with_load_errors(self) -> set:
        errors, self._load_errors = self._load_errors, set()
        return errors

    def _block_parts(self, block_id) -> list:
        """One block's KV, layer by layer, as contiguous tensors (K then V when the cache keeps them apart)."""
        parts = []
        for cache in self._kv_caches.values():
            if cache.dim() >= 2 and cache.shape[0] == 2:
                parts.extend((cache[0, block_id], cache[1, block_id]))
            else:
                parts.append(cache[block_id])
        return parts


def _host(tensor):
    """A CPU view (CPU caches: the block itself) or a staged CPU copy (GPU caches)."""
    return tensor if tensor.device.type == "cpu" else tensor.to("cpu")


def _tensor_parallel_rank() -> int:
    try:
        from vllm.distributed import get_tensor_model_parallel_rank
        return get_tensor_model_parallel_rank()
    except Exception:  # vLLM absent or its parallel state not initialised (scheduler process): rank 0
        return 0
