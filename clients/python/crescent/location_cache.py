"""Locations of objects a store read from same-host segments it maps, kept so that a repeated get is one memory copy
with no master call (what the Java client's LocationCache does; issue 20).

An entry is used only while the object's version word in the segment's file holds the version the master answered,
read before and after the copy: the master withdraws a version before the object's memory can change (remove,
upsert, eviction, unmount), so a copy framed by two reads of that version holds that version's bytes. Any other copy
is thrown away and the master asked, as is every entry once it is older than its time to live: reads that skip the
master are reads eviction does not count, and an object read only from caches would look cold to it.

The two reads frame the copy only where the processor keeps loads in order, as x86-64 does. Python has no fence to
order them on other processors, so there the cache stays off and every get asks the master.
"""
import platform
import struct
import time
from typing import NamedTuple

# A version word: 8 bytes in the host's byte order (dev.crescent.transfer.VersionTable).
WORD = struct.Struct("=Q")
# Past this many entries the cache starts over: a bound, not a policy (entries are cheap to make again).
_MAX_ENTRIES = 1 << 16
LOADS_IN_ORDER = platform.machine().lower() in ("x86_64", "amd64")


def mapped_with_word(mapping, offset: int, size: int, slot: int):
    """The memory ``mapping()`` answers for a segment file (or None) when ``size`` bytes at ``offset`` and the version
    word at ``slot`` both lie inside it; else None (not mapped here, no word, released, or an answer that does not fit
    the file). ``mapping`` is called only when there is a word."""
    if slot <= 0 or slot % WORD.size or size <= 0:
        return None
    memory = mapping()
    try:
        end = memory.nbytes if memory is not None else 0
    except ValueError:
        return None  # released meanwhile: its file is gone
    return memory if slot + WORD.size <= end and offset + size <= end else None


class _Entry(NamedTuple):
    size: int
    memory: memoryview  # the segment's whole mapped file
    offset: int
    slot: int  # where the version word lies in the file
    version: int
    expires_at: float


class LocationCache:
    def __init__(self, ttl: float):
        """``ttl``: how long, in seconds, a location is reused without asking the master (0: never)."""
        self._ttl = float(ttl) if LOADS_IN_ORDER else 0.0
        self._entries = {}

    def size(self, key: str) -> int:
        """The size of the object cached under ``key``, or -1 when there is no live entry."""
        entry = self._live(key)
        return -1 if entry is None else entry.size

    def read(self, key: str, size: int, pieces) -> bool:
        """Copies the object into ``pieces`` ((offset in the object, view) pairs covering ``size``, the size
        :meth:`size` answered) when its cached location is current; False when the master must be asked (no entry,
        its version is gone, or another thread cached another size meanwhile)."""
        entry = self._live(key)
        if entry is None or entry.size != size:
            return False
        try:
            if WORD.unpack_from(entry.memory, entry.slot)[0] == entry.version:
                for offset, view in pieces:
                    start = entry.offset + offset
                    view[:] = entry.memory[start:start + view.nbytes]
                if WORD.unpack_from(entry.memory, entry.slot)[0] == entry.version:
                    return True
        except ValueError:
            pass  # the mapping was released (its segment's file is gone): ask the master
        self._drop(key, entry)
        return False

    def remember(self, key: str, location, mapping):
        """Caches where ``key`` was just read from: the first replica with a version word in a segment file this
        store maps (``mapping(replica)``: the file's memory, or None)."""
        if self._ttl <= 0 or not location.version or location.value is not None:
            return
        for replica in location.replicas:
            memory = mapped_with_word(lambda: mapping(replica), replica.offset, location.size, replica.version_slot)
            if memory is None:
                continue
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(location.size, memory, replica.offset, replica.version_slot, location.version,
                                        time.monotonic() + self._ttl)
            return

    def forget(self, key: str):
        """This store changed or removed the object: its cached location is of no more use."""
        self._entries.pop(key, None)

    def clear(self):
        self._entries.clear()

    def _live(self, key):
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() > entry.expires_at:
            self._drop(key, entry)
            return None
        return entry

    def _drop(self, key, entry):
        """Drops ``entry`` unless another thread has cached a newer one meanwhile."""
        if self._entries.get(key) is entry:
            self._entries.pop(key, None)
