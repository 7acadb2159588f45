"""The serving side of a Python transfer engine: peers read and write this process's registered memory.

It speaks the transfer engine's TCP protocol (TcpProtocol.java) with the request's offset being an address in this
process, as Mooncake's peer addresses are; the request's segment name must be this engine's name. One thread per
connection, blocking sockets: a WRITE's payload is received straight into the registered memory (``recv_into``)
and a READ's is sent straight from it, so the bytes are copied only by the kernel; the GIL is released while
they move.

Besides READ and WRITE it answers DESCRIBE (op 4): its name and a random instance id, so an initiator can tell a
restarted engine on the same port from the one it knew. Same-host peers then ask the engine's Unix socket (an
abstract name carrying the instance id, so it is reachable only inside this network namespace) for its region
table; the kernel tells them the pid and uid at the other end (SO_PEERCRED), which cross-memory attach needs.
"""
import json
import logging
import os
import socket
import struct
import threading

from . import _sockets
from .errors import CrescentError, ErrorCode
from .memory import RegisteredMemory
from .transfer import DESCRIBE, HANDSHAKE, MAGIC, MAX_FRAME, READ, REQUEST, RESPONSE, VERSION, WRITE

log = logging.getLogger("crescent.engine")

_DRAIN_CHUNK = 1 << 20
_MAX_MESSAGE = 1024


def unix_name(instance: str) -> str:
    return "\0crescent-te." + instance


class EngineServer:
    def __init__(self, memory: RegisteredMemory, instance: str, host: str, port: int, timeout: float):
        self._memory = memory
        self.name = ""
        self._name_bytes = b""
        self._instance = instance
        self._timeout = timeout
        self._closed = False
        self._connections = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, port), family=_family(host), backlog=128)
        self.port = self._listener.getsockname()[1]
        self._local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._local.bind(unix_name(instance))
        self._local.listen(64)
        self._threads = [threading.Thread(target=self._accept, name=f"crescent-te-accept-{self.port}", daemon=True),
                         threading.Thread(target=self._accept_local, name="crescent-te-local", daemon=True)]
        for thread in self._threads:
            thread.start()

    def rename(self, name: str):
        """The name peers address this engine by (known once the port is): requests naming another are refused."""
        self.name = name
        self._name_bytes = name.encode()

    def description(self) -> bytes:
        regions = self._memory.regions()
        return json.dumps({"name": self.name, "instance": self._instance,
                           "first": regions[0][0] if regions else 0}).encode()

    def close(self):
        self._closed = True
        for sock in (self._listener, self._local):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=2)

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            limit = struct.pack("ll", int(self._timeout), int((self._timeout % 1) * 1e6))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
            with self._lock:
                self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name="crescent-te-conn", daemon=True).start()

    def _accept_local(self):
        answer = json.dumps({"instance": self._instance, "pid": os.getpid(),
                             "table": self._memory.table_file}).encode()
        while not self._closed:
            try:
                conn, _ = self._local.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(answer)
                except OSError:
                    pass

    def _serve(self, conn):
        try:
            if self._handshake(conn):
                header = memoryview(bytearray(REQUEST.size))
                while not self._closed:
                    _sockets.recv_exactly(conn, header)
                    if not self._request(conn, *REQUEST.unpack(header)):
                        break
        except (OSError, ConnectionError):
            pass  # the peer went away or stalled past the timeout: nothing to answer
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _handshake(self, conn) -> bool:
        hello = bytearray(HANDSHAKE.size)
        _sockets.recv_exactly(conn, memoryview(hello))
        magic, version, name_length, _, _ = HANDSHAKE.unpack(hello)
        if magic != MAGIC:
            return False
        _sockets.recv_exactly(conn, memoryview(bytearray(name_length)))
        status = 0 if version == VERSION else 1
        _sockets.send(conn, HANDSHAKE.pack(MAGIC, VERSION, status, 0, 0))
        return status == 0

    def _request(self, conn, op, flags, name_length, _, request_id, address, length) -> bool:
        """Serves one request; False when the stream cannot go on (the connection is then closed)."""
        if flags or length > MAX_FRAME or op not in (READ, WRITE, DESCRIBE):
            log.warning("closing a transfer connection: op %d, flags %d, length %d", op, flags, length)
            return False
        name = bytearray(name_length)
        _sockets.recv_exactly(conn, memoryview(name))
        if op == DESCRIBE:
            payload = self.description()
            _sockets.send(conn, RESPONSE.pack(request_id, 0, 0, len(payload)), payload)
            return True
        try:
            if name != self._name_bytes:
                raise CrescentError(ErrorCode.SEGMENT_NOT_FOUND,
                                    f"this engine is '{self.name}', not '{name.decode(errors='replace')}'")
            with self._memory.using(address, length) as view:
                if op == WRITE:
                    _sockets.recv_exactly(conn, view)
                    _sockets.send(conn, RESPONSE.pack(request_id, 0, 0, 0))
                else:
                    _sockets.send(conn, RESPONSE.pack(request_id, 0, 0, length), view)
        except CrescentError as e:
            if op == WRITE:
                _drain(conn, length)
            message = e.message.encode()[:_MAX_MESSAGE]
            _sockets.send(conn, RESPONSE.pack(request_id, int(e.code), len(message), 0), message)
        return True


def _drain(conn, length: int):
    """Reads and drops a refused WRITE's payload, so the next request starts where the peer thinks it does."""
    scratch = memoryview(bytearray(min(length, _DRAIN_CHUNK)))
    while length:
        step = min(length, scratch.nbytes)
        _sockets.recv_exactly(conn, scratch[:step])
        length -= step


def _family(host: str):
    return socket.AF_INET6 if ":" in host else socket.AF_INET
