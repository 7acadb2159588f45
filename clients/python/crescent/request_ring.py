"""A request ring the master opened for one wire connection of this client (the Java client's ``CallRing``, layout in
``dev.crescent.transfer.shm.RequestRing``): a put-path call whose request fits a slot is written into a file both map
and its answer read from there, with no socket round trip. The caller yields its core for a little while first
(``CoreYield``), then sleeps on a futex until the master's ring thread answers; the ring lives as long as its
connection, which carries nothing else, so the master closing it (a restart, a failover) is how a waiting call learns
the ring is dead. Linux on x86-64 only (futexes through libc's ``syscall``); elsewhere ``available()`` is false and
calls go over sockets.
"""
import collections
import ctypes
import mmap
import os
import platform
import socket
import struct
import threading
import time

from . import _sockets
from .transfer import current_host_id

_MAGIC = 0x43524E47
_HEADER = 64
_SLOT_HEADER = 64
_DOORBELL_AT = 12
_SERVER_SLEEPING_AT = 16
_STATE_AT, _LENGTH_AT, _CALLER_SLEEPING_AT = 0, 4, 8
_FREE, _POSTED, _ANSWERED = 0, 1, 2
_SYS_FUTEX = 202  # x86-64
_FUTEX_WAIT, _FUTEX_WAKE = 0, 1
# How often a sleeping caller looks at whether the ring's connection is still open.
_LOOK = 0.05
# How long a caller yields its core before it sleeps on its answer (the Java client's RequestRing.YIELD_NANOS).
_YIELD = 50e-6
_INT = struct.Struct("=i")  # the ring's words are native ints; payloads are big-endian, as wire frames


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _linked_syscall():
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).syscall  # CDLL calls release the GIL while they sleep
    except (OSError, AttributeError):
        return None
    call.restype = ctypes.c_long
    call.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p,
                     ctypes.c_long]
    return call


_SYSCALL = _linked_syscall()


def available() -> bool:
    return _SYSCALL is not None


def host_id() -> str:
    """This machine's id as the master compares it: the boot id segment endpoints carry too."""
    return current_host_id()


class CoreYield:
    """Yielding the core while an answer is a few microseconds away, as long as that costs little (the Java client's
    ``CoreYield``, which says why): a yield that comes back later than ``LOST`` lost the core to another process, or
    the GIL to another thread (``os.sched_yield`` lets go of it), so yielding stays off for a while after it:
    ``SHORTEST_OFF`` at first (a moment's stall is over by then), twice as long each time a yield loses again soon
    after yielding came back on (a busy host), up to ``LONGEST_OFF``. Yields away during the same stall count once."""
    LOST, SHORTEST_OFF, LONGEST_OFF = 1e-3, 2e-3, 50e-3

    def __init__(self, clock=time.monotonic, yield_core=os.sched_yield):
        self._clock, self._yield_core = clock, yield_core
        self._off_since = clock() - self.LONGEST_OFF  # on, and no loss soon before the first
        self._off_until = self._off_since

    def yield_once(self) -> bool:
        """Yields the core once, unless yielding is off; answers whether it yielded and may again."""
        before = self._clock()
        if before < self._off_until:
            return False
        self._yield_core()
        after = self._clock()
        if after - before > self.LOST:
            if before >= self._off_since:  # else it began before the loss that turned yielding off: the same stall
                if after - self._off_until < self.LONGEST_OFF:
                    off = min(max(2 * (self._off_until - self._off_since), self.SHORTEST_OFF), self.LONGEST_OFF)
                else:
                    off = self.SHORTEST_OFF
                self._off_since, self._off_until = after, after + off
            return False
        return True


class Ring:
    def __init__(self, path: str, connection: socket.socket):
        if not os.path.isabs(path) or not os.path.basename(path).startswith("crescent-ring-"):
            raise OSError(f"the master named {path} as its request ring")
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
        try:
            self._map = mmap.mmap(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        magic, slots, payload = struct.unpack_from("=iii", self._map, 0)
        stride = _SLOT_HEADER + ((payload + 63) & ~63)
        if magic != _MAGIC or slots <= 0 or payload <= 0 or len(self._map) < _HEADER + slots * stride:
            raise OSError(f"{path} does not hold a request ring")
        self.payload_bytes = payload
        self._stride = stride
        # The mapping's address, for futexes: the exported view keeps the mapping open as long as this ring lives.
        self._anchor = ctypes.c_char.from_buffer(self._map)
        self._base = ctypes.addressof(self._anchor)
        self._free = collections.deque(range(slots))
        self._bell = threading.Lock()  # the doorbell is counted by this process's threads one at a time
        self._connection = connection
        connection.setblocking(False)  # read only to learn that the master closed it
        self.broken = False
        self.calls = 0  # answered through this ring
        self._yielding = CoreYield()  # shared by the threads that call through this ring
        self._call_ids = 0

    def call(self, method_id: int, body: bytes, trailing, timeout: float):
        """The answer's (code, payload bytes), or None when no slot is free or the request does not fit one (the
        caller goes over a socket). Raises _sockets.Timeout past ``timeout`` and ConnectionError when the master
        closed the ring's connection; the ring is then broken."""
        parts = [body, *trailing]
        length = 5 + sum(part.nbytes if isinstance(part, memoryview) else len(part) for part in parts)
        if self.broken or length > self.payload_bytes:
            return None
        try:
            slot = self._free.popleft()
        except IndexError:
            return None
        at = _HEADER + slot * self._stride
        answered = False
        try:
            self._call_ids = call_id = (self._call_ids + 1) & 0xFFFFFFFF
            payload = at + _SLOT_HEADER
            struct.pack_into(">BI", self._map, payload, method_id, call_id)
            offset = payload + 5
            for part in parts:
                size = part.nbytes if isinstance(part, memoryview) else len(part)
                self._map[offset:offset + size] = part
                offset += size
            _INT.pack_into(self._map, at + _LENGTH_AT, length)
            _INT.pack_into(self._map, at + _STATE_AT, _POSTED)
            self._ring()
            self._await(at, time.monotonic() + timeout)
            answered = True
            self.calls += 1
            size = _INT.unpack_from(self._map, at + _LENGTH_AT)[0]
            if size < 8 or size > self.payload_bytes:
                raise ConnectionError(f"malformed ring answer (length {size})")
            answered_id, code = struct.unpack_from(">Ii", self._map, payload)
            if answered_id != call_id:
                raise ConnectionError(f"a ring answer to call {answered_id}, expected {call_id}")
            return code, self._map[payload + 8:payload + size]
        except BaseException:
            self.broken = True  # the slot's state is unknown: no call uses this ring any more
            raise
        finally:
            if answered and not self.broken:
                _INT.pack_into(self._map, at + _STATE_AT, _FREE)
                self._free.append(slot)

    def _ring(self):
        with self._bell:
            bell = _INT.unpack_from(self._map, _DOORBELL_AT)[0]
            _INT.pack_into(self._map, _DOORBELL_AT, (bell + 1 + 2**31) % 2**32 - 2**31)
        if _INT.unpack_from(self._map, _SERVER_SLEEPING_AT)[0] != 0:
            _SYSCALL(_SYS_FUTEX, self._base + _DOORBELL_AT, _FUTEX_WAKE, 2**31 - 1, None, None, 0)

    def _await(self, at, deadline):
        # Yielding first: a caller that slept at once cost the master's ring thread a futex wake per answer and
        # itself a switch back (one thread, 64 KiB puts: 31.0-45.4k/s sleeping, 45.1-51.5k/s yielding).
        start = time.monotonic()
        yielding = min(_YIELD, deadline - start)
        while (_INT.unpack_from(self._map, at + _STATE_AT)[0] != _ANSWERED and time.monotonic() - start < yielding
               and self._yielding.yield_once()):
            pass
        timespec = _Timespec()
        while True:
            state = _INT.unpack_from(self._map, at + _STATE_AT)[0]
            if state == _ANSWERED:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise _sockets.Timeout("no answer in the request ring")
            _INT.pack_into(self._map, at + _CALLER_SLEEPING_AT, 1)
            state = _INT.unpack_from(self._map, at + _STATE_AT)[0]
            if state != _ANSWERED:
                wait = min(_LOOK, left)
                timespec.tv_sec, timespec.tv_nsec = int(wait), int((wait % 1) * 1e9)
                _SYSCALL(_SYS_FUTEX, self._base + at + _STATE_AT, _FUTEX_WAIT, state, ctypes.addressof(timespec),
                         None, 0)
            _INT.pack_into(self._map, at + _CALLER_SLEEPING_AT, 0)
            if _INT.unpack_from(self._map, at + _STATE_AT)[0] != _ANSWERED and self._connection_closed():
                raise ConnectionError("the master closed the request ring's connection")

    def _connection_closed(self) -> bool:
        try:
            return self._connection.recv(1) is not None  # the master sends nothing on it: bytes or an end: gone
        except BlockingIOError:
            return False
        except OSError:
            return True

    def close(self):
        self.broken = True
        try:
            self._connection.close()
        except OSError:
            pass
