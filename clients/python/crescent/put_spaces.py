"""Space the master granted this store ahead on same-host segments it maps (what the Java client's GrantedSpaces does;
issue 20): a put of a size the store holds space for copies its bytes into the space through the mapping, then one
small PutStart naming the space makes the object there, so the put carries no bytes on the socket and needs no PutEnd.
Each space serves one put; the answer to that put grants the next, so a writer of same-sized objects (KV-cache blocks)
keeps about one space per concurrent put.

A space is used only within half the lifetime the master gave it, counted from before the request that asked for it:
past its lifetime the master frees the memory and may give it to another put, which a late copy would overwrite. A
space the store drops (its mapping released, or its put failed in transit) is simply never used again.
"""
import time
from collections import deque
from typing import NamedTuple

from .errors import ErrorCode
from .transfer import Endpoint

# Past this many sizes the spaces start over: a bound, not a policy (the master frees what is dropped).
_MAX_SIZES = 64
# The master's refusals of a put in space that leave the space the writer's: answered before the space is used. Any
# other failure (one in transit above all) may come after the object was made there, so the space is dropped.
LEAVES_SPACE = frozenset({ErrorCode.OBJECT_ALREADY_EXISTS, ErrorCode.REPLICA_IS_NOT_READY, ErrorCode.OBJECT_HAS_LEASE,
                          ErrorCode.QUOTA_EXCEEDED, ErrorCode.INVALID_KEY, ErrorCode.INVALID_PARAMS})


class Space(NamedTuple):
    id: int
    memory: memoryview  # the space's bytes in the segment's mapped file
    usable_until: float  # time.monotonic()

    def write(self, views):
        """Copies the views back to back into the space (ValueError once the mapping is released)."""
        offset = 0
        for view in views:
            self.memory[offset:offset + view.nbytes] = view
            offset += view.nbytes


class PutSpaces:
    def __init__(self, mapping):
        """``mapping(segment, endpoint)``: the memory of a same-host segment's file this store maps, or None."""
        self._mapping = mapping
        self._by_size = {}

    def take(self, size: int):
        """A space of exactly ``size`` bytes this store may copy into now, or None. It is the caller's alone."""
        spaces = self._by_size.get(size)
        now = time.monotonic()
        while spaces:
            try:
                space = spaces.popleft()
            except IndexError:  # another thread took the last one
                return None
            if now < space.usable_until:
                return space
        return None

    def keep(self, answer, asked_at: float):
        """Keeps the space a PutStart ``answer`` granted to a request sent at ``asked_at`` (monotonic), if any."""
        if not answer.HasField("space"):
            return
        granted = answer.space
        replica = granted.replica
        memory = self._mapping(replica.segment, Endpoint.parse(replica.endpoint))
        try:
            end = memory.nbytes if memory is not None else 0
        except ValueError:
            return  # released meanwhile: its file is gone
        if replica.length <= 0 or replica.offset + replica.length > end:
            return  # never used: the master frees it when its lifetime ends
        space = Space(granted.id, memory[replica.offset:replica.offset + replica.length],
                      asked_at + granted.lifetime_millis / 2000.0)
        if len(self._by_size) >= _MAX_SIZES and replica.length not in self._by_size:
            self._by_size.clear()
        self._by_size.setdefault(replica.length, deque()).append(space)

    def give_back(self, space: Space):
        """The master refused the put for its key and left the space this store's: it serves a later put."""
        self._by_size.setdefault(space.memory.nbytes, deque()).append(space)
