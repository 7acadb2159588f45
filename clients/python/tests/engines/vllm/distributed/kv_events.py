"""vLLM's KV-event types and the subscriber's decoding, restated from vllm/distributed/kv_events.py at vLLM commit
0181ea31 (and the replay protocol of its ZmqEventPublisher there).

vLLM declares the types as msgspec Structs (``omit_defaults=True``, events tagged with ``tag=True``, no
``array_like``), and its consumers decode a payload with ``msgspec.msgpack.Decoder(type=KVEventBatch)``. msgspec is
not packaged by Debian, so what that decoder accepts for these options is written out here over python3-msgpack:
a batch and each event are maps; each event carries its class name under ``type``; a field without a default must
be present (else msgspec raises "Object missing required field"); a field with a default may be left out; unknown
fields are ignored; a float field takes an int too. Nothing beyond those rules is added.
"""
from dataclasses import MISSING, dataclass
from typing import Any, Optional, Union

import msgpack

ExternalBlockHash = Union[bytes, int]


class ValidationError(ValueError):
    """What msgspec raises for a payload that does not match the declared types."""


@dataclass
class BlockStored:
    block_hashes: list
    parent_block_hash: Optional[ExternalBlockHash]
    token_ids: list
    block_size: int
    lora_id: Optional[int]
    medium: Optional[str]
    lora_name: Optional[str]
    extra_keys: Optional[list] = None
    group_idx: Optional[int] = None
    kv_cache_spec_kind: Optional[str] = None
    kv_cache_spec_sliding_window: Optional[int] = None


@dataclass
class BlockRemoved:
    block_hashes: list
    medium: Optional[str]
    group_idx: Optional[int] = None


@dataclass
class AllBlocksCleared:
    pass


@dataclass
class KVEventBatch:
    ts: float
    events: list
    data_parallel_rank: Optional[int] = None


_EVENT_TYPES = {cls.__name__: cls for cls in (BlockStored, BlockRemoved, AllBlocksCleared)}
_HASH = (bytes, int)
_FIELD_TYPES = {
    "block_hashes": lambda v: isinstance(v, list) and all(isinstance(h, _HASH) for h in v),
    "parent_block_hash": lambda v: v is None or isinstance(v, _HASH),
    "token_ids": lambda v: isinstance(v, list) and all(isinstance(t, int) for t in v),
    "block_size": lambda v: isinstance(v, int),
    "lora_id": lambda v: v is None or isinstance(v, int),
    "medium": lambda v: v is None or isinstance(v, str),
    "lora_name": lambda v: v is None or isinstance(v, str),
    "extra_keys": lambda v: v is None or isinstance(v, list),
    "group_idx": lambda v: v is None or isinstance(v, int),
    "kv_cache_spec_kind": lambda v: v is None or isinstance(v, str),
    "kv_cache_spec_sliding_window": lambda v: v is None or isinstance(v, int),
}


def _struct(cls, fields: dict):
    values = {}
    for name, declared in cls.__dataclass_fields__.items():
        if name in fields:
            check = _FIELD_TYPES.get(name)
            if check is not None and not check(fields[name]):
                raise ValidationError(f"Expected a valid `{name}` in {cls.__name__}, got {fields[name]!r}")
            values[name] = fields[name]
        elif declared.default is MISSING and declared.default_factory is MISSING:  # no default: required
            raise ValidationError(f"Object missing required field `{name}` - at `$.events[...]` ({cls.__name__})")
    return cls(**values)


def _event(raw: Any):
    if not isinstance(raw, dict):
        raise ValidationError(f"Expected `object`, got `{type(raw).__name__}` - at `$.events[...]`")
    tag = raw.get("type")
    if tag not in _EVENT_TYPES:
        raise ValidationError(f"Invalid value {tag!r} - at `$.events[...].type`")
    return _struct(_EVENT_TYPES[tag], {k: v for k, v in raw.items() if k != "type"})


def decode(payload: bytes) -> KVEventBatch:
    """``msgspec.msgpack.Decoder(type=KVEventBatch).decode(payload)``."""
    raw = msgpack.unpackb(payload, raw=False)
    if not isinstance(raw, dict):
        raise ValidationError(f"Expected `object`, got `{type(raw).__name__}`")
    if "ts" not in raw or not isinstance(raw["ts"], (int, float)):
        raise ValidationError("Object missing required field `ts`")
    if "events" not in raw or not isinstance(raw["events"], list):
        raise ValidationError("Object missing required field `events`")
    rank = raw.get("data_parallel_rank")
    if rank is not None and not isinstance(rank, int):
        raise ValidationError("Expected `int | null` - at `$.data_parallel_rank`")
    return KVEventBatch(float(raw["ts"]), [_event(e) for e in raw["events"]], rank)


# The replay protocol of ZmqEventPublisher: a request is the first wanted sequence as 8 big-endian bytes; each reply
# is (sequence, payload), and (END_SEQ, b"") ends them.
END_SEQ = (-1).to_bytes(8, "big", signed=True)
