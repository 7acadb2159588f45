"""Restates vllm/distributed/parallel_state.py (vLLM main, autumn 2026): a worker process's tensor-parallel rank and
pipeline-parallel group, set up (``initialize_model_parallel``) before the worker builds its KV connector.

In vLLM each worker is its own process; the tests run several workers in one process, so they call
``initialize_model_parallel`` before building each worker's connector (which reads its ranks once, at build time)."""
from dataclasses import dataclass


@dataclass
class GroupCoordinator:
    rank_in_group: int
    world_size: int


_TP = GroupCoordinator(0, 1)
_PP = GroupCoordinator(0, 1)


def initialize_model_parallel(tp_rank: int, tp_size: int, pp_rank: int = 0, pp_size: int = 1):
    global _TP, _PP
    _TP, _PP = GroupCoordinator(tp_rank, tp_size), GroupCoordinator(pp_rank, pp_size)


def get_tp_group() -> GroupCoordinator:
    return _TP


def get_pp_group() -> GroupCoordinator:
    return _PP


def get_tensor_model_parallel_rank() -> int:
    return _TP.rank_in_group


def get_tensor_model_parallel_world_size() -> int:
    return _TP.world_size
