"""The master's control plane, with leader failover, over one of two transports carrying the same protobuf messages:

- the master wire protocol (the default when the master announces it): each call is one frame written and one
  frame read on a pooled TCP connection by the calling thread. A gRPC call from Python spends most of its time in
  grpcio's HTTP/2 machinery and thread hand-offs; this is what the Java client uses, so a Python put or get costs
  what a Java one does (``bin/bench python``);
- gRPC (MasterService in master.proto), when the master does not announce the wire protocol or ``transport="grpc"``.

Errors come back as a Crescent error number (the wire's code, or gRPC's ``crescent-code`` trailer). With several
master addresses (an HA deployment), a call answered NOT_LEADER or refused at connect moves to the next address and
is tried again with back-off until ``failover_window`` has passed: callers see a delay, not an error.
"""
import collections
import itertools
import json
import random
import struct
import threading
import time
import urllib.error
import urllib.request

import grpc
from google.protobuf import wrappers_pb2
from google.protobuf.message import DecodeError

from . import _sockets, request_ring
from ._proto import master_pb2 as pb
from .errors import CrescentError, ErrorCode
from .protowire import LENGTH_DELIMITED, encoded_varint, parsed
from .tls import ClientTls

_SERVICE = "/crescent.v1.MasterService/"
# Method name -> (request type, response type).
_METHODS = {
    "PutStart": (pb.PutStartRequest, pb.PutStartResponse),
    "PutEnd": (pb.PutEndRequest, pb.Empty),
    "PutRevoke": (pb.PutRevokeRequest, pb.Empty),
    "GetReplicaList": (pb.GetReplicaListRequest, pb.GetReplicaListResponse),
    "Exist": (pb.KeyRequest, pb.ExistResponse),
    "Remove": (pb.RemoveRequest, pb.Empty),
    "RemoveAll": (pb.RemoveAllRequest, pb.RemoveAllResponse),
    "BatchPutStart": (pb.BatchPutStartRequest, pb.BatchPutStartResponse),
    "BatchPutEnd": (pb.BatchKeysRequest, pb.BatchStatusResponse),
    "BatchPutRevoke": (pb.BatchKeysRequest, pb.BatchStatusResponse),
    "BatchGetReplicaList": (pb.BatchKeysRequest, pb.BatchGetReplicaListResponse),
    "BatchExist": (pb.BatchKeysRequest, pb.BatchExistResponse),
    "BatchRemove": (pb.BatchKeysRequest, pb.BatchStatusResponse),
    "ServiceReady": (pb.Empty, pb.ServiceReadyResponse),
    "ReleaseLeases": (pb.ReleaseLeasesRequest, pb.Empty),
}
# The master wire protocol's methods in id order (dev.crescent.protocol.MasterWire; a test keeps them equal).
WIRE_METHODS = ("PutStart", "UpsertStart", "PutEnd", "PutRevoke", "GetReplicaList", "Exist", "Remove", "RemoveAll",
                "BatchPutStart", "BatchUpsertStart", "BatchPutEnd", "BatchPutRevoke", "BatchGetReplicaList",
                "BatchExist", "BatchRemove", "MountSegment", "UnmountSegment", "RemountSegments", "Heartbeat",
                "ServiceReady", "ReleaseLeases")
_WIRE_IDS = {name: i for i, name in enumerate(WIRE_METHODS)}
_WIRE_PATH = "/v1/master-wire"
# The connection's own method that opens a request ring (MasterWire.RING_OPEN), and the calls a ring carries: the put
# path's, whose answers are small.
_RING_OPEN = 255
# The direct listener's first byte when it serves the connection (MasterWire.DIRECT_SERVED); any other: it is full.
_DIRECT_SERVED = 1
_RING_METHODS = {"PutStart", "UpsertStart", "PutEnd", "PutRevoke"}
# Calls sent to the master's batch listener when it announces one (its several event loops serve long batched reads
# side by side; single calls and batched puts are cheaper on the one loop of the other port). Either port serves any
# call: the same split as the Java client's MasterWireChannel.
_BATCH_PORT_METHODS = {"BatchGetReplicaList", "BatchExist"}
_MAX_NODE_NAME_BYTES = 255
# Calls whose repetition after a timeout cannot change the outcome (a repeated PutStart or Remove could).
_SAFE_AFTER_TIMEOUT = {"GetReplicaList", "Exist", "BatchGetReplicaList", "BatchExist", "ServiceReady", "PutEnd",
                       "BatchPutEnd"}
_STATUS_CODES = {
    grpc.StatusCode.UNAVAILABLE: ErrorCode.RPC_FAIL,
    grpc.StatusCode.DEADLINE_EXCEEDED: ErrorCode.RPC_TIMEOUT,
    grpc.StatusCode.PERMISSION_DENIED: ErrorCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED: ErrorCode.UNAUTHENTICATED,
    grpc.StatusCode.INVALID_ARGUMENT: ErrorCode.INVALID_PARAMS,
    grpc.StatusCode.NOT_FOUND: ErrorCode.OBJECT_NOT_FOUND,
}
_MAX_MESSAGE_BYTES = 64 << 20
TRANSPORTS = ("auto", "wire", "grpc")
# Calls that carry the read leases of finished transfers back to the master (ReleaseLeases in master.proto).
_CARRIERS = {"GetReplicaList", "BatchGetReplicaList", "PutStart", "UpsertStart", "BatchPutStart", "BatchUpsertStart"}
# Removes send this client's waiting releases first: its own finished reads must not hold what it removes.
_REMOVERS = {"Remove", "BatchRemove", "RemoveAll"}
# Releases no call carried within this long go in a call of their own.
_RELEASE_AFTER = 0.002
_CLOSING_TIMEOUT = 1.0  # a closing store's one call waits at most this long (the Java client's heartbeat deadline)
_MAX_CARRIED = 4096


class MasterClient:
    def __init__(self, addresses, node_name: str, call_timeout: float = 5.0, failover_window: float = 15.0,
                 transport: str = "auto", tls: ClientTls | None = None, rings: bool = False):
        """``rings``: put-path calls go through a request ring in shared memory when the master is on this host and
        offers one (for clients that map same-host memory anyway)."""
        self._addresses = [a.strip() for a in addresses.split(",") if a.strip()] if isinstance(addresses, str) \
            else list(addresses)
        if not self._addresses:
            raise CrescentError(ErrorCode.INVALID_PARAMS, "no master address given")
        if transport not in TRANSPORTS:
            raise CrescentError(ErrorCode.INVALID_PARAMS, f"master transport must be one of {TRANSPORTS}")
        if len(node_name.encode()) > _MAX_NODE_NAME_BYTES:
            raise CrescentError(ErrorCode.INVALID_PARAMS, f"a node name is at most {_MAX_NODE_NAME_BYTES} bytes")
        self._node_name = node_name
        self._call_timeout = call_timeout
        self._failover_window = failover_window
        self._transport = transport
        self._rings = rings
        self._tls = tls
        self._tls_context = tls.context() if tls is not None else None
        self._lock = threading.Lock()
        self._current = 0
        self._channels = [None] * len(self._addresses)
        self._releases = _PendingReleases(
            lambda leases: self.call("ReleaseLeases", pb.ReleaseLeasesRequest(leases=leases)))

    def release(self, key: str, lease_id: int):
        """The read under this lease is over: its memory may be reused once no other reader holds it. Carried on
        the next get or put start, or sent alone within a few milliseconds; never waits on the network."""
        self._releases.add(key, lease_id)

    def release_spaces(self, client_id: str):
        """``client_id`` is closing: the master frees the put spaces it granted to it now instead of when their
        lifetimes end. One try of at most a second, with any releases still waiting; a master out of reach frees them by
        their lifetimes, so closing never waits out a failover."""
        request = pb.ReleaseLeasesRequest(leases=self._releases.drain(), closing_client_id=client_id)
        try:
            self._channel(self._current).call("ReleaseLeases", request, min(self._call_timeout, _CLOSING_TIMEOUT))
        except CrescentError:
            pass

    def streamed_put_bytes(self) -> int:
        """The largest put whose bytes the leader takes with its put start, reading them from the socket straight
        into place (``streamed-put-bytes``, announced by a standalone master's direct listener); 0: none. Asks the
        master when this client has not yet (as its first call would); a master out of reach counts as none, and the
        put's own call meets that failure and reports it."""
        try:
            return self._channel(self._current).streamed_put_bytes
        except CrescentError:
            return 0

    def call(self, method: str, request, trailing=(), read=None):
        """Calls ``method`` on the leader; raises CrescentError with the master's code on failure. ``trailing``: more
        of the request's fields, already encoded (see ``trailing_bytes``), sent after it from the caller's memory.
        ``read``: makes the result from the answer's encoded bytes, a view valid only while ``read`` runs (the wire
        connection's buffer, which serves the next call after); by default the answer is parsed. A DecodeError it
        raises is INTERNAL_ERROR."""
        if method in _REMOVERS:
            self._releases.send_now()  # this client's finished reads must not hold objects against its own removes
        elif method in _CARRIERS and self._releases.waiting():
            request.released.extend(self._releases.drain())
        deadline = None  # taken at the first failure: the common call pays nothing for failover
        backoff = 0.05
        while True:
            index = self._current
            try:
                return self._channel(index).call(method, request, self._call_timeout, trailing, read)
            except CrescentError as error:
                if deadline is None:
                    deadline = time.monotonic() + self._failover_window
                retry = error.code in (ErrorCode.NOT_LEADER, ErrorCode.RPC_FAIL) or (
                    error.code == ErrorCode.RPC_TIMEOUT and method in _SAFE_AFTER_TIMEOUT)
                if not retry or time.monotonic() + backoff > deadline:
                    raise
                self._move_on(index)
                time.sleep(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, 1.0)

    def transport_of(self, index: int = 0) -> str:
        """"wire" or "grpc": how calls to the master at ``index`` travel (asks the master when not known yet)."""
        return self._channel(index).name

    def close(self):
        self._releases.close()
        with self._lock:
            channels, self._channels = self._channels, [None] * len(self._addresses)
        for channel in channels:
            if channel is not None:
                channel.close()

    def _channel(self, index):
        channel = self._channels[index]
        if channel is None:
            channel = self._open(self._addresses[index])
            with self._lock:
                if self._channels[index] is None:
                    self._channels[index] = channel
                else:
                    channel.close()
                    channel = self._channels[index]
        return channel

    def _open(self, address):
        if self._transport != "grpc":
            ports = _announced_wire_ports(address, self._call_timeout, self._tls_context)
            if ports is not None:
                return _WireChannel(address.rsplit(":", 1)[0], ports, self._node_name, self._tls_context, self._rings)
            if self._transport == "wire":
                raise CrescentError(ErrorCode.INVALID_PARAMS, f"the master at {address} does not speak the wire protocol")
        return _GrpcChannel(address, self._node_name, self._tls)

    def _move_on(self, failed_index):
        """After a failure at ``failed_index``, the next call goes to the next address (one master: the same).
        A wire channel that failed asks for the port again next time (the master may have restarted)."""
        with self._lock:
            channel = self._channels[failed_index]
            if isinstance(channel, _WireChannel):
                self._channels[failed_index] = None
                channel.close()
            if self._current == failed_index:
                self._current = (failed_index + 1) % len(self._addresses)


class _PendingReleases:
    """Read leases whose transfers are over, on their way back to the master. A busy reader's next get or put start
    carries them (no extra round trip); when none comes within _RELEASE_AFTER, a daemon thread sends them alone, so
    an idle reader holds memory for milliseconds instead of a lease TTL. A release lost with its call only means
    that lease ends by its deadline."""

    def __init__(self, send):
        self._send = send
        self._leases = []
        self._lock = threading.Lock()
        self._sending = threading.Lock()  # held while releases are on their way (send_now waits for the thread's)
        self._wake = threading.Event()
        self._thread = None
        self._closed = False

    def add(self, key, lease_id):
        if not lease_id:
            return
        with self._lock:
            self._leases.append(pb.LeaseRelease(key=key, lease_id=lease_id))
            first = len(self._leases) == 1
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._flush_idle, name="crescent-lease-release", daemon=True)
                self._thread.start()
        if first:
            self._wake.set()

    def waiting(self) -> bool:
        return bool(self._leases)

    def drain(self) -> list:
        with self._lock:
            taken, self._leases = self._leases[:_MAX_CARRIED], self._leases[_MAX_CARRIED:]
        return taken

    def close(self):
        with self._lock:
            self._closed = True
        self._wake.set()
        self._flush()

    def _flush_idle(self):
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            time.sleep(_RELEASE_AFTER)
            self._flush()

    def send_now(self):
        """Sends every release waiting, and returns once a flush the idle thread has under way is over too."""
        self._flush()

    def _flush(self):
        with self._sending:
            while taken := self.drain():
                try:
                    self._send(taken)
                except CrescentError:
                    return  # the master is away: these leases end by their deadlines


def _announced_wire_ports(address, timeout, tls):
    """The wire ports the master announces on its HTTP port, (port, batch port, direct port, streamed put bytes), the
    middle two None for a master without such a listener and the last 0 for one that streams no put; None when it does
    not speak the protocol (404)."""
    try:
        url = f"{'https' if tls else 'http'}://{address}{_WIRE_PATH}"
        with urllib.request.urlopen(url, timeout=timeout, context=tls) as answer:
            announced = json.loads(answer.read())
        if announced.get("tls") and tls is None:
            raise CrescentError(ErrorCode.UNAUTHENTICATED,
                                f"the master at {address} speaks its wire protocol over TLS only: pass tls=ClientTls(...)")
        batch_port, direct_port = announced.get("batch-port"), announced.get("direct-port")
        return (int(announced["port"]), int(batch_port) if batch_port is not None else None,
                int(direct_port) if direct_port is not None else None, int(announced.get("streamed-put-bytes", 0)))
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise CrescentError(ErrorCode.RPC_FAIL, f"{address}{_WIRE_PATH} answered HTTP {e.code}") from None
    except (OSError, ValueError, KeyError) as e:
        raise CrescentError(ErrorCode.RPC_FAIL, f"cannot reach the master at {address}: {e}") from None


def trailing_bytes(field_number: int, entries) -> list:
    """A repeated bytes field encoded as the parts of a frame: per entry its tag and length, then the entry's own views
    (a list of byte-format views, sent back to back from the caller's memory; None: an empty entry). A protobuf message
    is the concatenation of its fields in any order, so these parts may follow the rest of the message."""
    tag = encoded_varint(field_number << 3 | LENGTH_DELIMITED)
    parts = []
    for views in entries:
        if views is None:
            parts.append(tag + b"\0")
            continue
        parts.append(tag + encoded_varint(sum(v.nbytes for v in views)))
        parts.extend(views)
    return parts


def with_trailing(request, trailing):
    """A copy of ``request`` with the fields encoded in ``trailing`` (``trailing_bytes``) merged in: the message the
    master parses from the two sent back to back."""
    whole = type(request)()
    whole.CopyFrom(request)
    whole.MergeFromString(b"".join(trailing))
    return whole


def _answered(method, read, view: memoryview):
    """``read(view)``, or the answer parsed as ``method``'s response. INTERNAL_ERROR when the bytes are not such an
    answer (the frame was read whole: the connection itself is fine)."""
    try:
        return read(view) if read is not None else parsed(_METHODS[method][1], view)
    except DecodeError as e:
        raise CrescentError(ErrorCode.INTERNAL_ERROR, f"unreadable answer to {method}: {e}") from None


class _WireChannel:
    """Calls to one master over the wire protocol. Connections are pooled and carry one call at a time, so the
    calling thread writes its request and reads its own answer (each connection keeps a buffer its answers usually
    fit in whole: one receive per call). Batched reads go to the master's batch port when it announces one, over a
    pool of their own. A connection that failed or timed out is closed: a late answer must never be read as the next
    call's. With ``rings``, put-path calls go through a request ring in shared memory when the master, on this host,
    offers one (``request_ring``). Single calls prefer the master's direct listener, which serves each connection with
    a thread of its own while it has room, and says in its first byte whether it has."""
    name = "wire"

    def __init__(self, host, ports, node_name, tls, rings=False):
        self._host, self._tls = host, tls
        self._port, self._batch_port, self._direct_port, streamed = ports
        # The direct listener reads a streamed put's value into place; over TLS calls go to the event loops.
        self.streamed_put_bytes = streamed if self._direct_port is not None and tls is None else 0
        self._no_direct_until = 0.0  # after the direct listener said it was full, single calls skip it a while
        self._hello = struct.pack(">I", len(node_name.encode())) + node_name.encode()
        self._idle = collections.deque()
        self._idle_batch = collections.deque()  # connections to the batch port
        self._call_ids = itertools.count(1)
        self._rings = rings and tls is None and request_ring.available()
        self._ring = None
        self._no_ring_until = 0.0
        self._opening = threading.Lock()

    def call(self, method, request, timeout, trailing=(), read=None):
        call_id = next(self._call_ids) & 0xFFFFFFFF
        body = request.SerializeToString()
        length = 5 + len(body) + sum(part.nbytes if isinstance(part, memoryview) else len(part) for part in trailing)
        connection = None
        try:
            ringed = self._via_ring(method, body, trailing, timeout)
            if ringed is not None:
                code, answer = ringed
                answer = memoryview(answer)
            else:
                batched = self._batch_port is not None and method in _BATCH_PORT_METHODS
                idle = self._idle_batch if batched else self._idle
                connection = idle.pop() if idle else None
                if connection is None:
                    connection = self._connected(timeout, self._batch_port) if batched else self._single(timeout)
                _sockets.send(connection.socket, struct.pack(">IBI", length, _WIRE_IDS[method], call_id), body,
                              *trailing)
                answer = connection.read_frame()
                answered_id, code = struct.unpack_from(">Ii", answer)
                if answered_id != call_id:
                    raise ConnectionError(f"answer to call {answered_id}, expected {call_id}")
                answer = answer[8:]
            failure = None
            if code == 0:  # read from the connection's buffer before it serves another call
                try:
                    answered = _answered(method, read, answer)
                except Exception as e:  # raised after the frame was read whole: the connection serves the next call
                    failure = e
            else:
                payload = bytes(answer)
        except (_sockets.Timeout, BlockingIOError):  # BlockingIOError: sendall met the send timeout
            _close(connection)
            raise CrescentError(ErrorCode.RPC_TIMEOUT, f"{method}: no answer within {timeout}s") from None
        except OSError as e:
            _close(connection)
            raise CrescentError(ErrorCode.RPC_FAIL, f"{method}: master connection failed: {e}") from None
        if connection is not None:
            idle.append(connection)
        if failure is not None:
            raise failure
        if code != 0:
            raise CrescentError(ErrorCode.of(code), payload.decode("utf-8", "replace"))
        return answered

    def _connected(self, timeout, port):
        connection = _sockets.connect(self._host, port, timeout)
        if self._tls is not None:
            connection = _sockets.secure(connection, self._tls, self._host)
        return _WireConnection(connection, self._hello)

    def _single(self, timeout):
        """A connection for single calls: to the direct listener while it has room, else to the event loops' port."""
        if self._direct_port is None or self._tls is not None or time.monotonic() < self._no_direct_until:
            return self._connected(timeout, self._port)
        connection = _sockets.connect(self._host, self._direct_port, timeout)
        try:
            first = bytearray(1)
            _sockets.recv_exactly(connection, memoryview(first))
        except BaseException:
            connection.close()
            raise
        if first[0] == _DIRECT_SERVED:
            return _WireConnection(connection, self._hello)
        connection.close()
        self._no_direct_until = time.monotonic() + 1
        return self._connected(timeout, self._port)

    def _via_ring(self, method, body, trailing, timeout):
        """(code, payload) of the call made through this channel's ring, or None when it goes over a socket."""
        if not self._rings or method not in _RING_METHODS:
            return None
        ring = self._ring
        if ring is None or ring.broken:
            ring = self._opened_ring(timeout)
            if ring is None:
                return None
        return ring.call(_WIRE_IDS[method], body, trailing, timeout)

    def _opened_ring(self, timeout):
        """A new ring, at most once a back-off (a second after a failure, a minute after the master offered none);
        None meanwhile, or while another thread opens one."""
        if time.monotonic() < self._no_ring_until or not self._opening.acquire(blocking=False):
            return None
        connection = None
        try:
            if self._ring is not None:
                self._ring.close()
                self._ring = None
            connection = self._connected(timeout, self._port)
            opening = wrappers_pb2.StringValue(value=request_ring.host_id()).SerializeToString()
            _sockets.send(connection.socket, struct.pack(">IBI", 5 + len(opening), _RING_OPEN, 0), opening)
            answer = connection.read_frame()
            code = struct.unpack_from(">i", answer, 4)[0]
            if code != 0:  # none offered (another host, rings off or all open, a master that predates rings)
                self._no_ring_until = time.monotonic() + 60
                _close(connection)
                return None
            path = wrappers_pb2.StringValue.FromString(bytes(answer[8:])).value
            self._ring = request_ring.Ring(path, connection.socket)
            return self._ring
        except (OSError, DecodeError):
            self._no_ring_until = time.monotonic() + 1
            _close(connection)
            return None
        finally:
            self._opening.release()

    def close(self):
        for idle in (self._idle, self._idle_batch):
            while idle:
                _close(idle.pop())
        if self._ring is not None:
            self._ring.close()


class _WireConnection:
    _SCRATCH = 64 << 10
    # The largest answer buffer a connection keeps for its next answers (a batch answers up to 4 MiB of bytes inline):
    # a fresh buffer per large answer cost a page fault per 4 KiB on every call.
    _KEPT = 8 << 20

    def __init__(self, connection, hello):
        self.socket = connection
        self._scratch = bytearray(self._SCRATCH)
        _sockets.send(connection, hello)

    def read_frame(self) -> memoryview:
        """The next frame after its length; a view of the scratch buffer, valid until the next read."""
        view = memoryview(self._scratch)
        got = 0
        while got < 4:
            got += _sockets.recv_some(self.socket, view[got:])
        end = 4 + struct.unpack_from(">I", view)[0]
        if end > len(self._scratch):
            whole = bytearray(end)
            whole[:got] = view[:got]
            if end <= self._KEPT:
                self._scratch = whole
            view = memoryview(whole)
        _sockets.recv_exactly(self.socket, view[got:end])
        return view[4:end]

    def close(self):
        self.socket.close()


def _close(connection):
    if connection is not None:
        try:
            connection.close()
        except OSError:
            pass


class _GrpcChannel:
    name = "grpc"
    streamed_put_bytes = 0  # a gRPC message arrives whole: large puts write their replicas themselves

    def __init__(self, address, node_name, tls):
        self._metadata = (("crescent-node", node_name),)
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)]
        self._channel = grpc.insecure_channel(address, options=options) if tls is None \
            else grpc.secure_channel(address, tls.grpc_credentials(), options=options)
        # Answers arrive as their encoded bytes, for call's read as over the wire.
        self._stubs = {name: self._channel.unary_unary(_SERVICE + name, request_serializer=req.SerializeToString)
                       for name, (req, _) in _METHODS.items()}

    def call(self, method, request, timeout, trailing=(), read=None):
        if trailing:  # gRPC sends one message: the trailing fields are merged into a copy (a retry merges afresh)
            request = with_trailing(request, trailing)
        try:
            answer = self._stubs[method](request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _to_error(e) from None
        return _answered(method, read, memoryview(answer))

    def close(self):
        self._channel.close()


def _to_error(e: grpc.RpcError) -> CrescentError:
    code = None
    for entry in e.trailing_metadata() or ():
        if entry.key == "crescent-code":
            code = ErrorCode.of(int(entry.value))
    if code is None:
        code = _STATUS_CODES.get(e.code(), ErrorCode.RPC_FAIL)
    return CrescentError(code, e.details() or str(e.code()))


def status_error(status) -> CrescentError | None:
    """The error of a batch item's KeyStatus, or None when it succeeded."""
    if status.code == 0:
        return None
    return CrescentError(ErrorCode.of(status.code), status.message)
