"""Same-host transfers between Python engines: one copy, straight between the two processes' memory.

Linux's cross-memory attach (process_vm_readv / process_vm_writev) copies between this process and another one's
address space in one system call for a whole batch (up to IOV_MAX ranges), with no socket and no shared file. It
needs the right to ptrace the peer (same user, no stricter Yama policy); where that is refused the engine goes
over TCP instead. The peer's ranges are checked against its region table while holding the table file's shared
lock, which the peer's unregister waits for (memory.py).
"""
import ctypes
import errno
import fcntl
import json
import os
import socket
import struct

from .errors import CrescentError, ErrorCode
from .memory import TableReader, check_range
from .transfer import READ

_IOV_MAX = 1024
# Batches from this size on are copied by two threads.
_PARALLEL_BYTES = 2 << 20
_PEERCRED = struct.Struct("3i")
_libc = ctypes.CDLL(None, use_errno=True)


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def _bind(name):
    function = getattr(_libc, name)
    function.restype = ctypes.c_ssize_t
    function.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.POINTER(_IoVec),
                         ctypes.c_ulong, ctypes.c_ulong]
    return function


_READV, _WRITEV = _bind("process_vm_readv"), _bind("process_vm_writev")


class Refused(Exception):
    """Cross-memory attach is not allowed here (permissions, seccomp): use TCP."""


class CrossMemoryPeer:
    """A Python engine on this host, in this network namespace, run by this user (checked by the kernel)."""

    def __init__(self, pid: int, table_file: str):
        self.pid = pid
        self._table = os.open(table_file, os.O_RDONLY | os.O_NOFOLLOW)
        if os.fstat(self._table).st_uid != os.getuid():
            os.close(self._table)
            raise Refused(f"region table {table_file} belongs to another user")
        self._regions = TableReader(self._table)

    @staticmethod
    def connect(instance_socket: str, instance: str, timeout: float):
        """The peer behind the abstract Unix socket ``instance_socket``, or None when it is not on this host (or
        not in this network namespace), not the instance expected, or not this user's."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(timeout)
                conn.connect(instance_socket)
                pid, uid, _ = _PEERCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
                answer = b""
                while chunk := conn.recv(4096):
                    answer += chunk
            said = json.loads(answer)
        except (OSError, ValueError):
            return None
        if said.get("instance") != instance or said.get("pid") != pid or uid != os.getuid():
            return None
        try:
            return CrossMemoryPeer(pid, said["table"])
        except (OSError, KeyError, Refused):
            return None

    def run(self, op: int, items: list, pool=None):
        """Copies every (local address, remote address, length) of ``items``; raises CrescentError, or Refused
        when the kernel does not allow it at all. With a ``pool``, a large batch is copied by two threads at once
        (the kernel's copy is per page and leaves memory bandwidth unused)."""
        fcntl.flock(self._table, fcntl.LOCK_SH)
        try:
            starts, lengths = self._regions.regions()
            for _, remote, length in items:
                check_range(starts, lengths, remote, length)
            if pool is None or len(items) < 2 or sum(n for _, _, n in items) < _PARALLEL_BYTES:
                self._copy_all(op, items)
                return
            half = len(items) // 2
            other = pool.submit(self._copy_all, op, items[half:])
            try:
                self._copy_all(op, items[:half])
            finally:
                other.result()  # the lock covers both halves: wait for the other even when this one failed
        finally:
            fcntl.flock(self._table, fcntl.LOCK_UN)

    def close(self):
        os.close(self._table)

    def _copy_all(self, op, items):
        for first in range(0, len(items), _IOV_MAX):
            self._copy(op, items[first:first + _IOV_MAX])

    def _copy(self, op, items):
        count = len(items)
        local = (_IoVec * count)(*[(a, n) for a, _, n in items])
        remote = (_IoVec * count)(*[(r, n) for _, r, n in items])
        expected = sum(n for _, _, n in items)
        done = (_READV if op == READ else _WRITEV)(self.pid, local, count, remote, count, 0)
        if done == expected:
            return
        code = ctypes.get_errno()
        if done < 0 and code in (errno.EPERM, errno.ENOSYS, errno.EACCES):
            raise Refused(os.strerror(code))
        if done < 0 and code == errno.ESRCH:
            raise CrescentError(ErrorCode.TRANSFER_FAIL, f"peer process {self.pid} is gone")
        raise CrescentError(ErrorCode.TRANSFER_FAIL,
                            f"cross-memory copy moved {done} of {expected} bytes: {os.strerror(code)}")
