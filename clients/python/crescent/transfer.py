"""The data plane: bytes move straight between the caller's buffers and the workers' segments.

Same host: the worker's segment is a file in /dev/shm; it is mapped once and a transfer is one memory copy.
Otherwise: the transfer engine's TCP protocol (see TcpProtocol.java for the wire format), with requests to one peer
pipelined on one connection and READ payloads received straight into the caller's buffer (``recv_into``), so no
intermediate bytes objects are made for values of any size.
"""
import functools
import mmap
import os
import re
import socket
import stat
import struct
import threading
from dataclasses import dataclass
from typing import NamedTuple

from . import _sockets
from .errors import CrescentError, ErrorCode

READ, WRITE = 1, 2
# A Python transfer engine's self-description (engine_server.py); Java transfer servers do not answer it.
DESCRIBE = 4
MAX_DESCRIPTION = 64 << 10
MAGIC, VERSION = 0x43525343, 1
HANDSHAKE = struct.Struct(">IHHII")
REQUEST = struct.Struct(">BBHIQQQ")
RESPONSE = struct.Struct(">QiIQ")
_FLAG_TICKET = 1
MAX_FRAME = 64 << 20
_PIPELINE_DEPTH = 64
_SOCKET_BUFFER = 4 << 20


def current_host_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return f"unknown-{os.getpid()}"


class Endpoint(NamedTuple):
    """Where a segment is reached: ``host=<boot id>,tcp=<host:port>,tls=1,shm=<file>`` (see PeerAddress.java);
    ``tls``: its transfer server speaks TLS only."""
    host_id: str
    tcp: str
    shm_file: str
    tls: bool = False

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def parse(text: str) -> "Endpoint":
        parts = dict(p.split("=", 1) for p in text.split(",") if "=" in p)
        return Endpoint(parts.get("host", "").strip(), parts.get("tcp", "").strip(), parts.get("shm", "").strip(),
                        parts.get("tls", "").strip() == "1")


@dataclass
class Transfer:
    """One contiguous move: ``view`` to (WRITE) or from (READ) ``offset`` of a replica's segment."""
    op: int
    segment: str
    endpoint: Endpoint
    offset: int
    view: memoryview
    ticket: bytes = b""


SHM_DIRECTORIES = ("/dev/shm", "/dev/hugepages")
_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]")


def verified_segment_file(file: str, segment: str, directories=SHM_DIRECTORIES) -> str:
    """The one rule of ShmFiles.java: a segment's file is ``crescent-<segment>.<pid>`` directly in a shared-memory
    directory. An endpoint comes from whoever mounted the segment, so any other file it names is refused."""
    if not os.path.isabs(file) or os.path.normpath(file) != file or os.path.dirname(file) not in directories:
        raise CrescentError(ErrorCode.TRANSFER_FAIL, f"shared segment file {file} refused: not in {directories}")
    prefix = "crescent-" + _UNSAFE_IN_NAMES.sub("_", segment) + "."
    name = os.path.basename(file)
    if not name.startswith(prefix) or not name[len(prefix):].isdigit():
        raise CrescentError(ErrorCode.TRANSFER_FAIL,
                            f"shared segment file {file} refused: not a file of segment '{segment}'")
    return file


class SharedMemoryPath:
    """Maps workers' segment files on this host (only the file of the segment a transfer names, never through a
    link); a mapping is dropped when its file disappears."""

    def __init__(self):
        self._host_id = current_host_id()
        self._lock = threading.Lock()
        self._maps = {}

    @property
    def host_id(self) -> str:
        """This host's kernel boot id: segments whose endpoints name it are mapped here."""
        return self._host_id

    def reaches(self, endpoint: Endpoint) -> bool:
        if not endpoint.shm_file or endpoint.host_id != self._host_id:
            return False
        if endpoint.shm_file in self._maps:
            return True  # mapped already: checked when it was mapped (a segment's next file has another name)
        if os.access(endpoint.shm_file, os.R_OK | os.W_OK):
            return True  # a file of another user without our group is reached over TCP instead
        self._drop(endpoint.shm_file)
        return False

    def mapping(self, segment: str, endpoint: Endpoint):
        """The memory of ``segment``'s file (the whole file, its version table too) when this path reaches it, else
        None."""
        if not self.reaches(endpoint):
            return None
        try:
            return self._memory(segment, endpoint.shm_file)
        except CrescentError:
            return None

    def run(self, t: Transfer):
        memory = self._memory(t.segment, t.endpoint.shm_file)
        end = t.offset + t.view.nbytes
        if t.offset < 0 or end > memory.nbytes:
            raise CrescentError(ErrorCode.INVALID_PARAMS,
                                f"range [{t.offset}, {end}) outside segment {t.segment} ({memory.nbytes} bytes)")
        if t.op == WRITE:
            memory[t.offset:end] = t.view
        else:
            t.view[:] = memory[t.offset:end]

    def close(self):
        with self._lock:
            for file in list(self._maps):
                self._drop_locked(file)

    def _memory(self, segment: str, file: str) -> memoryview:
        """The memory of ``segment``'s ``file``, mapped now if it is not yet. The file is checked against the
        segment's name (verified_segment_file) when it is mapped for that name, not on every use: the check's path
        handling cost a put into granted space more than its own bookkeeping."""
        entry = self._maps.get(file)
        if entry is not None and entry[2] == segment:
            return entry[1]
        return self._map(verified_segment_file(file, segment), segment)

    def _map(self, file, segment) -> memoryview:
        with self._lock:
            entry = self._maps.get(file)
            if entry is None:
                try:
                    fd = os.open(file, os.O_RDWR | os.O_NOFOLLOW)
                    if not stat.S_ISREG(os.fstat(fd).st_mode):
                        os.close(fd)
                        raise OSError("not a regular file")
                    try:
                        mapped = mmap.mmap(fd, 0)
                    finally:
                        os.close(fd)
                except OSError as e:
                    raise CrescentError(ErrorCode.TRANSFER_FAIL, f"cannot map shared segment {file}: {e}") from None
                entry = (mapped, memoryview(mapped), segment)
                self._maps[file] = entry
            return entry[1]

    def _drop(self, file):
        with self._lock:
            self._drop_locked(file)

    def _drop_locked(self, file):
        entry = self._maps.pop(file, None)
        if entry is not None:
            entry[1].release()
            try:
                entry[0].close()
            except BufferError:
                pass  # A concurrent transfer still holds a slice; the map goes with its last reference.


class TcpPath:
    """Connections to workers' transfer servers, pooled per peer; one connection serves one call at a time.
    ``tls``: the ssl.SSLContext for servers that speak TLS only (their endpoints say ``tls=1``), or None."""

    def __init__(self, engine_name: str, timeout: float, tls=None):
        self._hello = _handshake(engine_name)
        self._timeout = timeout
        self._tls = tls
        self._lock = threading.Lock()
        self._idle = {}
        self._closed = False

    def run(self, target: str, transfers: list, tls: bool = False) -> list:
        """Runs transfers to one peer (over TLS when ``tls``), pipelined; returns one error (or None) per
        transfer."""
        errors = [None] * len(transfers)
        try:
            conn = self._take(target, tls)
        except CrescentError as e:
            return [e] * len(transfers)
        frames = [(i, frame) for i, t in enumerate(transfers) for frame in _frames(t)]
        receiver = _sockets.Receiver(conn)  # a run of answers without payload arrives in one receive
        sent = answered = 0
        try:
            while answered < len(frames):
                parts = []
                while sent < len(frames) and sent - answered < _PIPELINE_DEPTH:
                    parts += _request(sent, transfers[frames[sent][0]], frames[sent][1])
                    sent += 1
                    if tls:  # TLS joins what it sends into one buffer: one request at a time, not a window
                        _sockets.send(conn, *parts)
                        parts = []
                if parts:
                    _sockets.send(conn, *parts)  # every request the window allows in one system call
                index, frame = frames[answered]
                error = _receive(receiver, answered, transfers[index], frame)
                if error is not None and errors[index] is None:
                    errors[index] = error
                answered += 1
        except (OSError, CrescentError) as e:
            conn.close()
            failure = e if isinstance(e, CrescentError) else CrescentError(
                ErrorCode.TRANSFER_FAIL, f"connection to {target} failed: {e}")
            for i in range(len(transfers)):
                if errors[i] is None and any(f[0] == i for f in frames[answered:]):
                    errors[i] = failure
            return errors
        self._give_back(target, conn)
        return errors

    def describe(self, target: str) -> bytes:
        """What the Python transfer engine at ``target`` says it is (op DESCRIBE: no payload out, a small one back)."""
        conn = self._take(target, False)
        try:
            _sockets.send(conn, REQUEST.pack(DESCRIBE, 0, 0, 0, 0, 0, 0))
            header = bytearray(RESPONSE.size)
            _recv_exactly(conn, memoryview(header))
            _, code, message_length, payload_length = RESPONSE.unpack(header)
            if code != 0 or message_length or payload_length > MAX_DESCRIPTION:
                raise CrescentError(ErrorCode.TRANSFER_FAIL, f"{target} is not a Crescent transfer engine")
            payload = bytearray(payload_length)
            _recv_exactly(conn, memoryview(payload))
        except (OSError, CrescentError) as e:
            conn.close()
            if isinstance(e, CrescentError):
                raise
            raise CrescentError(ErrorCode.TRANSFER_FAIL, f"{target} did not describe itself: {e}") from None
        self._give_back(target, conn)
        return bytes(payload)

    def forget(self, target: str):
        """Closes the idle connections to ``target`` (its server restarted or went away)."""
        with self._lock:
            conns = self._idle.pop(target, [])
        for conn in conns:
            conn.close()

    def close(self):
        with self._lock:
            self._closed = True
            for conns in self._idle.values():
                for conn in conns:
                    conn.close()
            self._idle.clear()

    def _take(self, target, tls) -> socket.socket:
        with self._lock:
            if self._closed:
                raise CrescentError(ErrorCode.TRANSFER_FAIL, "store is closed")
            pool = self._idle.get(target)
            if pool:
                return pool.pop()
        if tls and self._tls is None:
            raise CrescentError(ErrorCode.TRANSFER_FAIL,
                                f"the transfer server at {target} speaks TLS only: pass tls=ClientTls(...) to setup")
        host, _, port = target.rpartition(":")
        try:
            conn = _sockets.connect(host, int(port), self._timeout, _SOCKET_BUFFER)
            if tls:
                conn = _sockets.secure(conn, self._tls, host)
            _sockets.send(conn, self._hello)
            reply = bytearray(HANDSHAKE.size)
            _recv_exactly(conn, memoryview(reply))
            magic, version, status, _, _ = HANDSHAKE.unpack(reply)
            if magic != MAGIC or status != 0:
                conn.close()
                raise CrescentError(ErrorCode.TRANSFER_FAIL,
                                    f"{target} refused the transfer handshake (status {status}, version {version})")
            return conn
        except (OSError, ValueError) as e:
            raise CrescentError(ErrorCode.TRANSFER_FAIL, f"cannot connect to transfer server {target}: {e}") from None

    def _give_back(self, target, conn):
        with self._lock:
            if self._closed:
                conn.close()
            else:
                self._idle.setdefault(target, []).append(conn)


def _handshake(engine_name: str) -> bytes:
    name = engine_name.encode()[:255]
    return HANDSHAKE.pack(MAGIC, VERSION, len(name), 0, 0) + name


def _frames(t: Transfer):
    """(offset within the view, length) pieces no larger than the protocol's largest frame."""
    total = t.view.nbytes
    return [(start, min(MAX_FRAME, total - start)) for start in range(0, total, MAX_FRAME)] or [(0, 0)]


def _request(request_id, t: Transfer, frame) -> list:
    """The parts of one request on the wire: its header, then (WRITE) its payload straight from the caller."""
    start, length = frame
    name = t.segment.encode()
    wire_ticket = t.ticket[1:] if t.ticket else b""  # the op byte travels in the request header
    header = REQUEST.pack(t.op, _FLAG_TICKET if wire_ticket else 0, len(name), 0, request_id,
                          t.offset + start, length) + name + wire_ticket
    if t.op == WRITE and length > 0:
        return [header, t.view[start:start + length]]
    return [header]


def _receive(receiver: _sockets.Receiver, request_id, t: Transfer, frame):
    answered_id, code, message_length, payload_length = RESPONSE.unpack(receiver.take(RESPONSE.size))
    if answered_id != request_id or message_length > 1024:
        raise CrescentError(ErrorCode.TRANSFER_FAIL, f"malformed transfer response (request {answered_id})")
    message = bytes(receiver.take(message_length)) if message_length else b""
    start, length = frame
    if code == 0 and t.op == READ:
        if payload_length != length:
            raise CrescentError(ErrorCode.TRANSFER_FAIL, f"response carries {payload_length} bytes, asked {length}")
        receiver.read_into(t.view[start:start + length])
    elif payload_length:
        raise CrescentError(ErrorCode.TRANSFER_FAIL, f"unexpected payload of {payload_length} bytes")
    if code != 0:
        return CrescentError(ErrorCode.of(code), "remote: " + message.decode(errors="replace"))
    return None


def _recv_exactly(conn, view: memoryview):
    try:
        _sockets.recv_exactly(conn, view)
    except ConnectionError:
        raise CrescentError(ErrorCode.TRANSFER_FAIL, "connection closed by the transfer server") from None
