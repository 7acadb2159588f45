"""Restates vllm/v1/core/sched/output.py (vLLM main, autumn 2026): what the scheduler hands
``build_connector_meta`` each step (the fields connectors read)."""
from dataclasses import dataclass, field


@dataclass
class NewRequestData:
    req_id: str
    prompt_token_ids: list | None
    block_ids: tuple
    num_computed_tokens: int
    mm_features: list = field(default_factory=list)
    lora_request: object = None
    prompt_embeds: object = None


@dataclass
class CachedRequestData:
    req_ids: list
    # For request ids not in resumed_req_ids, new_block_ids are appended to the request's block ids; for those in
    # the set, new_block_ids replace them.
    resumed_req_ids: set
    new_token_ids: list
    all_token_ids: dict
    new_block_ids: list
    num_computed_tokens: list
    num_output_tokens: list

    @classmethod
    def make_empty(cls):
        return cls([], set(), [], {}, [], [], [])


@dataclass
class SchedulerOutput:
    scheduled_new_reqs: list
    scheduled_cached_reqs: CachedRequestData
    num_scheduled_tokens: dict
    total_num_scheduled_tokens: int = 0
    finished_req_ids: set = field(default_factory=set)
    kv_connector_metadata: object = None
