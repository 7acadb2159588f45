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

_MAX_NAME = 255
# Connections served at once (one thread each); a stalled one is dropped after the engine's timeout.
MAX_CONNECTIONS = 256
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
            with self._lock:
                if len(self._connections) >= MAX_CONNECTIONS:
                    conn.close()  # a thread each: past the cap, new peers are turned away at once
                    continue
                self._connections.add(conn)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            limit = struct.pack("ll", int(self._timeout), int((self._timeout % 1) * 1e6))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
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
                _Connection(conn, self).serve()
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


class _Connection:
    """One peer's requests, in order. Reads are buffered (_sockets.Receiver): one receive brings a request's header
    and name, and for pipelined READs the next requests' too; a WRITE's payload goes straight into registered
    memory, in the same receive as the next request's header. Answers without payload wait while more requests are
    already queued and leave together before the next receive that would block: a batch of WRITEs costs about one
    receive per request and one send per batch."""

    def __init__(self, conn, server: EngineServer):
        self._conn = conn
        self._server = server
        self._memory = server._memory
        self._receiver = _sockets.Receiver(conn)
        self._answers = []

    def serve(self):
        while not self._server._closed:
            op, flags, name_length, _, request_id, address, length = REQUEST.unpack(self._take(REQUEST.size))
            if flags or length > MAX_FRAME or name_length > _MAX_NAME or op not in (READ, WRITE, DESCRIBE):
                log.warning("closing a transfer connection: op %d, flags %d, length %d", op, flags, length)
                return
            name = self._take(name_length)
            if op == DESCRIBE:
                payload = self._server.description()
                self._answer(RESPONSE.pack(request_id, 0, 0, len(payload)), payload)
            elif name != self._server._name_bytes:
                self._refuse(op, request_id, length, CrescentError(
                    ErrorCode.SEGMENT_NOT_FOUND,
                    f"this engine is '{self._server.name}', not '{bytes(name).decode(errors='replace')}'"))
            else:
                self._move(op, request_id, address, length)

    def _take(self, length: int) -> memoryview:
        return self._receiver.take(length, self._flush if self._answers else None)

    def _move(self, op, request_id, address, length):
        try:
            view = self._memory.acquire(address, length)
        except CrescentError as e:
            self._refuse(op, request_id, length, e)
            return
        try:
            if op == WRITE:
                # Held answers stay held: a peer sends a request's payload whole without waiting for answers.
                self._receiver.read_into(view)
                self._answers.append(RESPONSE.pack(request_id, 0, 0, 0))
            else:
                self._answer(RESPONSE.pack(request_id, 0, 0, length), view)
        finally:
            self._memory.release()

    def _refuse(self, op, request_id, length, e: CrescentError):
        if op == WRITE:
            self._receiver.skip(length)  # the next request starts where the peer thinks it does
        message = e.message.encode()[:_MAX_MESSAGE]
        self._answers += [RESPONSE.pack(request_id, int(e.code), len(message), 0), message]

    def _answer(self, *parts):
        """Sends the answers held back and this one, in order, in one call."""
        self._answers += parts
        self._flush()

    def _flush(self):
        if self._answers:
            _sockets.send(self._conn, *self._answers)
            self._answers = []


def _family(host: str):
    return socket.AF_INET6 if ":" in host else socket.AF_INET
