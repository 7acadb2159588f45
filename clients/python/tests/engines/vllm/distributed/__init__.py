"""Restates vllm.distributed (vLLM main, autumn 2026): the parallel-state accessors a connector may read."""
from .parallel_state import get_pp_group, get_tensor_model_parallel_rank, get_tensor_model_parallel_world_size

__all__ = ["get_pp_group", "get_tensor_model_parallel_rank", "get_tensor_model_parallel_world_size"]
