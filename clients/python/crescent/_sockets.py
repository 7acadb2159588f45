"""TCP plumbing shared by the master wire channel and the transfer path, tuned for per-call cost.

Sockets stay in blocking mode with the kernel's SO_RCVTIMEO/SO_SNDTIMEO as the timeout: a Python-level timeout makes
CPython poll() before every send and receive, one more system call each. Receives ask the kernel for the whole
length at once (MSG_WAITALL), so a 1 MiB payload is one call rather than dozens; sends hand header and payload to
the kernel together (sendmsg), so a frame is one call and one segment train rather than two.
"""
import socket
import ssl
import struct


# The most buffers one sendmsg takes (Linux's IOV_MAX); a frame of more parts goes in several calls.
_IOV_MAX = 1024


class Timeout(OSError):
    """No progress within the socket's timeout."""


def connect(host: str, port: int, timeout: float, buffer_bytes: int = 0) -> socket.socket:
    connection = socket.create_connection((host, port), timeout=timeout)
    connection.settimeout(None)
    seconds, micros = int(timeout), int((timeout - int(timeout)) * 1e6)
    limit = struct.pack("ll", seconds, micros)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if buffer_bytes:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer_bytes)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_bytes)
    return connection


def secure(connection: socket.socket, context: ssl.SSLContext, host: str) -> ssl.SSLSocket:
    """``connection`` wrapped in TLS (handshake done, ``host`` verified against the peer's certificate). The kernel
    timeouts stay in force: a stalled TLS read or write raises Timeout like a plain one."""
    try:
        return context.wrap_socket(connection, server_hostname=host)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        connection.close()
        raise Timeout("TLS handshake timed out") from None
    except OSError:
        connection.close()
        raise


def send(connection: socket.socket, *parts):
    """Sends the parts (bytes or byte-format views) back to back in as few calls as the kernel allows."""
    if isinstance(connection, ssl.SSLSocket):  # TLS records: no sendmsg; one buffer is one write
        try:
            connection.sendall(b"".join(parts))
        except ssl.SSLWantWriteError:
            raise Timeout("send timed out") from None
        return
    pending = list(parts)
    left = sum(len(p) for p in pending)
    while left:
        try:
            sent = connection.sendmsg(pending[:_IOV_MAX])
        except BlockingIOError:
            raise Timeout("send timed out") from None
        left -= sent
        while left and sent >= len(pending[0]):  # a partial send: drop what went, cut into the first part left
            sent -= len(pending.pop(0))
        if left and sent:
            pending[0] = memoryview(pending[0])[sent:]


def recv_some(connection: socket.socket, view: memoryview) -> int:
    """Receives what has arrived (at least one byte) into ``view``."""
    try:
        received = connection.recv_into(view)
    except (BlockingIOError, ssl.SSLWantReadError):
        raise Timeout("receive timed out") from None
    if received == 0:
        raise ConnectionError("connection closed by the peer")
    return received


def recv_exactly(connection: socket.socket, view: memoryview):
    """Fills ``view`` from the connection; ConnectionError when the peer closes, Timeout when it stalls."""
    flags = 0 if isinstance(connection, ssl.SSLSocket) else socket.MSG_WAITALL  # TLS takes no flags
    while view.nbytes:
        try:
            received = connection.recv_into(view, view.nbytes, flags)
        except (BlockingIOError, ssl.SSLWantReadError):
            raise Timeout("receive timed out") from None
        if received == 0:
            raise ConnectionError("connection closed by the peer")
        view = view[received:]


class Receiver:
    """Reads a connection through a small buffer, so that small messages arriving together (a run of answers, a run
    of request headers) cost one system call; a large payload goes from the socket straight into its destination,
    after whatever part of it the buffer holds already (kept small, as that part is copied once more)."""

    def __init__(self, connection: socket.socket, size: int = 4096):
        self._connection = connection
        self._buffer = memoryview(bytearray(size))
        self._start = self._end = 0

    def take(self, length: int, before_blocking=None) -> memoryview:
        """The next ``length`` bytes (at most the buffer's size), valid until the next call. ``before_blocking``,
        when given, runs before a receive that would have to wait (it may send what the peer waits for)."""
        if self._end - self._start < length:
            self._fill(length, before_blocking)
        view = self._buffer[self._start:self._start + length]
        self._start += length
        return view

    def read_into(self, view: memoryview):
        buffered = min(self._end - self._start, view.nbytes)
        view[:buffered] = self._buffer[self._start:self._start + buffered]
        self._start += buffered
        if buffered == view.nbytes:
            return
        rest = view[buffered:]
        if isinstance(self._connection, ssl.SSLSocket):  # TLS has no scatter receive
            recv_exactly(self._connection, rest)
            return
        # The buffer is empty here. One call fills the rest of the payload and, into the buffer, what follows it
        # (in a pipelined run: the next message's header): one receive per message instead of two. The part of the
        # payload that call leaves is then waited for whole.
        self._start = self._end = 0
        try:
            received = self._connection.recvmsg_into([rest, self._buffer])[0]
        except BlockingIOError:
            raise Timeout("receive timed out") from None
        if received == 0:
            raise ConnectionError("connection closed by the peer")
        if received >= rest.nbytes:
            self._end = received - rest.nbytes
        else:
            recv_exactly(self._connection, rest[received:])

    def skip(self, length: int):
        while length:
            step = min(length, self._buffer.nbytes)
            self.take(step)
            length -= step

    def _fill(self, need: int, before_blocking):
        left = self._end - self._start
        if self._start:
            self._buffer[:left] = self._buffer[self._start:self._end]
            self._start, self._end = 0, left
        while self._end < need:
            if before_blocking is not None:
                try:
                    received = self._connection.recv_into(self._buffer[self._end:], 0, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    before_blocking()
                    before_blocking = None
                    continue
                if received == 0:
                    raise ConnectionError("connection closed by the peer")
                self._end += received
            else:
                self._end += recv_some(self._connection, self._buffer[self._end:])
