"""Space the master granted this store ahead on same-host segments it maps (what the Java client's GrantedSpaces does;
issue 20): a put of a size the store holds space for copies its bytes into the space through the mapping, then one
small PutStart naming the space makes the object there, so the put carries no bytes on the socket and needs no PutEnd.
Each space serves one put; the answer to that put grants the next, so a writer of same-sized objects (KV-cache blocks)
keeps about one space per concurrent put.

A space is used only within half the lifetime the master gave it, counted from before the request that asked for it,
and only while its word in the segment's version table holds the version the master gave it: past its lifetime, or
once its segment was unmounted or a restarted master mounted it again, the master may give the memory to another put,
which a late copy would overwrite. A space the store drops (its mapping released, its word gone, or its put failed in
transit) is simply never used again.
"""
import time
from collections import deque
from typing import NamedTuple

from .errors import ErrorCode
from .location_cache import WORD, mapped_with_word
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
    file: memoryview  # the whole mapped file, for the space's version word
    slot: int  # where the word lies in the file
    version: int  # what the word holds while the space is this store's
    usable_until: float  # time.monotonic()

    def write(self, views) -> bool:
        """Copies the views back to back into the space, if it is still this store's; False when its word no longer
        holds its version (the master withdrew it: nothing was copied). ValueError once the mapping is released."""
        if WORD.unpack_from(self.file, self.slot)[0] != self.version:
            return False
        offset = 0
        for view in views:
            self.memory[offset:offset + view.nbytes] = view
            offset += view.nbytes
        return True


class PutSpaces:
    def __init__(self, mapping):
        """``mapping(segment, endpoint)``: the memory of a same-host segment's file this store maps, or None."""
        self._mapping = mapping
        self._by_size = {}
        self.granted = False  # whether the master ever granted space here (mapped or not, it holds it)

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
        self.granted = True
        granted = answer.space
        replica = granted.replica
        memory = mapped_with_word(lambda: self._mapping(replica.segment, Endpoint.parse(replica.endpoint)),
                                  replica.offset, replica.length, replica.version_slot)
        if memory is None:
            return  # never used: the master frees it when its lifetime ends
        space = Space(granted.id, memory[replica.offset:replica.offset + replica.length], memory,
                      replica.version_slot, granted.version, asked_at + granted.lifetime_millis / 2000.0)
        if len(self._by_size) >= _MAX_SIZES and replica.length not in self._by_size:
            self._by_size.clear()
        self._by_size.setdefault(replica.length, deque()).append(space)

    def give_back(self, space: Space):
        """The master refused the put for its key and left the space this store's: it serves a later put."""
        self._by_size.setdefault(space.memory.nbytes, deque()).append(space)
