"""What the adapters share: connecting from an engine's configuration, and reading batch answers."""
import logging
import os

from ..errors import CrescentError, ErrorCode
from ..store import CrescentStore

log = logging.getLogger("crescent.adapters")

MASTER_ENV = "CRESCENT_MASTER"


def connect(config: dict | None) -> CrescentStore:
    """A set-up store from an engine's extra config: ``master_server_address`` (else $CRESCENT_MASTER, else
    localhost:8080), ``protocol`` ("auto" or "tcp"), ``replica_num``, ``local_hostname``, ``master_transport``
    ("auto", "wire" or "grpc"). Fails loudly: an engine
    told to use Crescent must not start silently without it."""
    config = dict(config or {})
    master = config.get("master_server_address") or os.environ.get(MASTER_ENV) or "localhost:8080"
    store = CrescentStore()
    code = store.setup(master, local_hostname=config.get("local_hostname"),
                       protocol=config.get("protocol", "auto"), replica_num=int(config.get("replica_num", 0)),
                       master_transport=config.get("master_transport", "auto"))
    if code != 0:
        raise CrescentError(ErrorCode.of(code), f"cannot reach the Crescent master at {master}")
    return store


def leading_hits(exist_codes) -> int:
    """How many keys exist from the start of a batch_is_exist answer (prefix caches can only use a prefix)."""
    hits = 0
    for code in exist_codes:
        if code != 1:
            break
        hits += 1
    return hits


def stored(code: int) -> bool:
    """A put's outcome as caches see it: an object already there is as good as one just written."""
    return code in (0, ErrorCode.OBJECT_ALREADY_EXISTS)


def note_puts(engine: str, codes) -> list:
    """Which puts stored their value (one bool per code). Back-pressure (NO_AVAILABLE_HANDLE) and other refusals
    only cost a future cache hit: they are logged, never raised."""
    ok = [stored(c) for c in codes]
    refused = [c for c, good in zip(codes, ok) if not good]
    if refused and refused[0] == ErrorCode.NO_AVAILABLE_HANDLE:
        log.info("%s: Crescent is full (back-pressure); %d block(s) not cached", engine, len(refused))
    elif refused:
        log.warning("%s: %d block(s) not cached: %s (%d)", engine, len(refused), ErrorCode.of(refused[0]).name,
                    refused[0])
    return ok
