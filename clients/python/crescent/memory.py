"""Memory a Python transfer engine lets its peers read and write: the one place a peer's range is checked.

Regions are raw address ranges of this process (a torch tensor's storage, a numpy array, a pinned pool), as in
Mooncake's ``register_memory(address, length)``. Two kinds of peer reach them:
- over TCP, this process's engine server copies between the socket and the region while it holds the region in
  use (``using``);
- on the same host, a peer copies straight into or out of this process (cross-memory attach, see
  cross_memory.py). It checks its ranges against the table this class keeps in a shared-memory file, while holding
  a shared lock on that file.
Unregistering takes the in-process lock and the file's exclusive lock, so it waits for copies in flight from
either kind of peer, and no copy starts against a region once it is gone: memory the caller frees after
``unregister`` returns is never written.
"""
import bisect
import fcntl
import os
import secrets
import struct
import threading
import weakref
from contextlib import contextmanager

from .buffers import address_view
from .errors import CrescentError, ErrorCode

_TABLE_HEADER = struct.Struct("<IIQ")  # magic, region count, generation
_TABLE_ENTRY = struct.Struct("<QQ")  # address, length
_TABLE_MAGIC = 0x43544254  # "CTBT"
TABLE_DIRECTORY = "/dev/shm"
_TABLE_PREFIX = "crescent-te-"


class RegisteredMemory:
    """Registered regions of this process, sorted by address; non-overlapping."""

    def __init__(self):
        self._starts = []
        self._lengths = []
        self._views = []  # one view per region, sliced per request
        self._users = 0
        self._changing = False
        self._lock = threading.Condition(threading.Lock())  # never taken twice by one thread: no RLock's cost
        self._generation = 0
        _remove_tables_of_dead_processes()
        self.table_file = os.path.join(TABLE_DIRECTORY, f"{_TABLE_PREFIX}{os.getpid()}-{secrets.token_hex(8)}")
        self._table = os.open(self.table_file, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        # Removed on close, or when this object goes or the interpreter exits without a close.
        self._removal = weakref.finalize(self, _remove_table, self._table, self.table_file)
        self._write_table()

    def register(self, address: int, length: int):
        if not isinstance(address, int) or not isinstance(length, int) or address <= 0 or length <= 0:
            raise CrescentError(ErrorCode.INVALID_PARAMS, f"cannot register {length} bytes at {address!r}")
        with self._changed():
            i = bisect.bisect_left(self._starts, address)
            overlaps_next = i < len(self._starts) and self._starts[i] < address + length
            overlaps_previous = i > 0 and self._starts[i - 1] + self._lengths[i - 1] > address
            if overlaps_next or overlaps_previous:
                raise CrescentError(ErrorCode.SEGMENT_ALREADY_EXISTS,
                                    f"[{address:#x}, +{length}) overlaps memory registered already")
            self._starts.insert(i, address)
            self._lengths.insert(i, length)
            self._views.insert(i, address_view(address, length))

    def unregister(self, address: int):
        """Waits for copies in flight into or out of the region, then forgets it."""
        with self._changed():
            i = bisect.bisect_left(self._starts, address)
            if i == len(self._starts) or self._starts[i] != address:
                raise CrescentError(ErrorCode.SEGMENT_NOT_FOUND, f"no memory registered at {address:#x}")
            del self._starts[i]
            del self._lengths[i]
            del self._views[i]

    def regions(self) -> list:
        with self._lock:
            return list(zip(self._starts, self._lengths))

    def acquire(self, address: int, length: int) -> memoryview:
        """A view of ``[address, address+length)``, which must lie inside one region; the region stays registered
        until ``release``."""
        with self._lock:
            while self._changing:
                self._lock.wait()
            i = check_range(self._starts, self._lengths, address, length)
            self._users += 1
            offset = address - self._starts[i]
            return self._views[i][offset:offset + length]

    def release(self):
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._changing:  # only a change waits for the users to drain
                self._lock.notify_all()

    @contextmanager
    def using(self, address: int, length: int):
        view = self.acquire(address, length)
        try:
            yield view
        finally:
            self.release()

    def close(self):
        self._removal()

    @contextmanager
    def _changed(self):
        """Exclusive: no local copy runs (in-process users drained) and no same-host peer copies (file lock)."""
        with self._lock:
            while self._changing:
                self._lock.wait()
            self._changing = True
            while self._users:
                self._lock.wait()
        try:
            fcntl.flock(self._table, fcntl.LOCK_EX)
            try:
                yield
                self._write_table()
            finally:
                fcntl.flock(self._table, fcntl.LOCK_UN)
        finally:
            with self._lock:
                self._changing = False
                self._lock.notify_all()

    def _write_table(self):
        self._generation += 1
        body = b"".join(_TABLE_ENTRY.pack(a, n) for a, n in zip(self._starts, self._lengths))
        os.pwrite(self._table, _TABLE_HEADER.pack(_TABLE_MAGIC, len(self._starts), self._generation) + body, 0)


def _remove_table(fd: int, path: str):
    for action in (lambda: os.close(fd), lambda: os.unlink(path)):
        try:
            action()
        except OSError:
            pass


def _remove_tables_of_dead_processes():
    """Tables left by engines that died without closing (this user's only; a name carries its process id)."""
    try:
        names = os.listdir(TABLE_DIRECTORY)
    except OSError:
        return
    for name in names:
        pid = name[len(_TABLE_PREFIX):].split("-", 1)[0] if name.startswith(_TABLE_PREFIX) else ""
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                path = os.path.join(TABLE_DIRECTORY, name)
                if os.stat(path, follow_symlinks=False).st_uid == os.getuid():
                    os.unlink(path)
            except OSError:
                pass


def check_range(starts: list, lengths: list, address: int, length: int) -> int:
    """The index of the sorted region ``[address, address+length)`` lies inside; anything else is refused (a
    negative length too; Python integers do not overflow)."""
    if length < 0 or address < 0:
        raise CrescentError(ErrorCode.INVALID_PARAMS, f"bad range [{address:#x}, +{length})")
    i = bisect.bisect_right(starts, address) - 1
    if i < 0 or address + length > starts[i] + lengths[i]:
        raise CrescentError(ErrorCode.INVALID_PARAMS,
                            f"range [{address:#x}, +{length}) is not inside memory registered with this engine")
    return i


class TableReader:
    """A peer's region table file, parsed again only when its generation changes (read under the caller's
    shared lock)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._generation = None
        self._regions = ([], [])

    def regions(self):
        """(starts, lengths) of the peer's regions now."""
        head = os.pread(self.fd, _TABLE_HEADER.size, 0)
        if len(head) != _TABLE_HEADER.size:
            raise CrescentError(ErrorCode.TRANSFER_FAIL, "peer's region table is truncated")
        magic, count, generation = _TABLE_HEADER.unpack(head)
        if magic != _TABLE_MAGIC:
            raise CrescentError(ErrorCode.TRANSFER_FAIL, "peer's region table is malformed")
        if generation != self._generation:
            body = os.pread(self.fd, count * _TABLE_ENTRY.size, _TABLE_HEADER.size)
            if len(body) != count * _TABLE_ENTRY.size:
                raise CrescentError(ErrorCode.TRANSFER_FAIL, "peer's region table is truncated")
            entries = list(_TABLE_ENTRY.iter_unpack(body))
            self._regions = ([a for a, _ in entries], [n for _, n in entries])
            self._generation = generation
        return self._regions
