"""Crescent's transfer engine for Python processes: move bytes between registered memory of engines on this host
and on others, with no Crescent server in the data path.

Each engine registers ranges of its own memory (tensors, arrays, raw addresses) and serves them to its peers; an
initiator reads or writes a peer's registered addresses, one at a time or in batches, synchronously or as futures.
A peer is named by its session id ``host:port`` (as Mooncake's P2P handshake does) or, when the engine is given a
Crescent store as its metadata service, by the name it published there.

Paths, fastest first (chosen per peer, once):
- same host, same network namespace, same user: cross-memory attach, one copy per batch in one system call
  (cross_memory.py);
- otherwise the transfer engine's TCP protocol, requests pipelined on pooled connections (transfer.py), served by
  the peer's engine server (engine_server.py).
The Java engine's RDMA path has no Python counterpart: "rdma" asked of this engine is served over these paths.
docs/DESIGN.md ("Python transfer engine") says why it is written in Python rather than driven through a Java agent.
"""
import concurrent.futures
import json
import logging
import secrets
import threading

from .buffers import address_of, address_view
from .cross_memory import CrossMemoryPeer, Refused
from .engine_server import EngineServer, unix_name
from .errors import CrescentError, ErrorCode
from .memory import RegisteredMemory
from .transfer import READ, WRITE, TcpPath, Transfer

log = logging.getLogger("crescent.engine")

METADATA_PREFIX = "crescent-te/"
# Batches larger than this over TCP are split over two connections, so both ends' copies overlap (a connection
# is served by one thread on the peer).
_SPLIT_BYTES = 8 << 20


class TransferEngine:
    """``hostname``: the address peers reach this engine at (and the one its server listens on); ``port`` 0 picks a
    free one. ``metadata``: a connected CrescentStore to publish this engine in (as ``name``) and to look peers up
    in; None for session ids only. ``same_host``: False forces TCP even to peers on this host."""

    def __init__(self, hostname: str = "127.0.0.1", port: int = 0, metadata=None, name: str | None = None,
                 timeout: float = 30.0, same_host: bool = True, workers: int = 4):
        self._instance = secrets.token_hex(16)
        self.memory = RegisteredMemory()
        self._server = EngineServer(self.memory, self._instance, hostname, port, timeout)
        self.hostname = hostname
        self.session_id = f"{hostname}:{self._server.port}"
        self.name = name or self.session_id
        self._server.rename(self.name)
        self._timeout = timeout
        self._same_host = same_host
        self._tcp = TcpPath("py-engine", timeout)
        self._peers = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crescent-te")
        self._halves = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crescent-te-half")
        self._metadata = metadata
        if metadata is not None:
            try:
                self._publish()
            except CrescentError:
                self.close()  # not half-started: no server left listening
                raise

    @property
    def port(self) -> int:
        return self._server.port

    def register(self, buffer, length: int | None = None) -> int:
        """Lets peers read and write ``buffer`` (writable bytes-like, CPU tensor, or an address with ``length``);
        returns its address, which peers use."""
        address, size = address_of(buffer, length)
        self.memory.register(address, size)
        return address

    def unregister(self, buffer):
        """Stops serving the region at ``buffer`` (its address, or the buffer); returns once no copy touches it."""
        address = buffer if isinstance(buffer, int) else address_of(buffer)[0]
        self.memory.unregister(address)

    def write(self, target: str, local, remote_address: int, length: int | None = None):
        self.batch_write(target, [local], [remote_address], None if length is None else [length])

    def read(self, target: str, local, remote_address: int, length: int | None = None):
        self.batch_read(target, [local], [remote_address], None if length is None else [length])

    def batch_write(self, target: str, locals_, remote_addresses, lengths=None):
        """Writes each local buffer to the peer's address; raises the first failure (a CrescentError)."""
        self._run(WRITE, target, _items(locals_, remote_addresses, lengths))

    def batch_read(self, target: str, locals_, remote_addresses, lengths=None):
        self._run(READ, target, _items(locals_, remote_addresses, lengths))

    def batch_write_async(self, target: str, locals_, remote_addresses, lengths=None) -> concurrent.futures.Future:
        """A future of the batch: its result is None, or its exception the first failure."""
        return self._pool.submit(self._run, WRITE, target, _items(locals_, remote_addresses, lengths))

    def batch_read_async(self, target: str, locals_, remote_addresses, lengths=None) -> concurrent.futures.Future:
        return self._pool.submit(self._run, READ, target, _items(locals_, remote_addresses, lengths))

    def first_region_of(self, target: str) -> int:
        """The lowest address the peer ``target`` has registered (0: none), asked of it now."""
        return self._describe(self._resolve(target))["first"]

    def path_to(self, target: str) -> str:
        """"local" (cross-memory attach) or "tcp": how transfers to ``target`` go now."""
        return "local" if self._peer(target).local is not None else "tcp"

    def close(self):
        if self._metadata is not None:
            try:
                self._metadata.remove(METADATA_PREFIX + self.name, True)
            except CrescentError:
                pass
        self._pool.shutdown(wait=True)
        self._halves.shutdown(wait=True)
        self._server.close()
        self._tcp.close()
        with self._lock:
            peers, self._peers = list(self._peers.values()), {}
        for peer in peers:
            peer.close()
        self.memory.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def _run(self, op, target, items):
        if not items:
            return
        peer = self._peer(target)
        try:
            peer.run(op, items, self._tcp, self._halves)
        except CrescentError as e:
            if e.code == ErrorCode.TRANSFER_FAIL:
                self._forget(target, peer)  # the next call describes it again: it may have restarted
            raise

    def _peer(self, target: str) -> "_Peer":
        with self._lock:
            peer = self._peers.get(target)
        if peer is not None:
            return peer
        address = self._resolve(target)
        said = self._describe(address)
        local = None
        if self._same_host:
            local = CrossMemoryPeer.connect(unix_name(said["instance"]), said["instance"], self._timeout)
        peer = _Peer(address, said["name"], local)
        with self._lock:
            known = self._peers.setdefault(target, peer)
        if known is not peer:
            peer.close()
        return known

    def _describe(self, address: str) -> dict:
        try:
            said = json.loads(self._tcp.describe(address))
            if isinstance(said["name"], str) and isinstance(said["instance"], str) and isinstance(said["first"], int):
                return said
        except (ValueError, KeyError, TypeError):
            pass
        raise CrescentError(ErrorCode.TRANSFER_FAIL, f"{address} did not describe itself as a transfer engine")

    def _forget(self, target, peer):
        with self._lock:
            if self._peers.get(target) is peer:
                del self._peers[target]
        self._tcp.forget(peer.address)
        peer.close()

    def _resolve(self, target: str) -> str:
        """The host:port of the peer named ``target``: published in the metadata store, else a session id."""
        if self._metadata is not None:
            try:
                return json.loads(self._metadata.get(METADATA_PREFIX + target))["tcp"]
            except (CrescentError, ValueError, KeyError):
                pass  # not published there: maybe a session id
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise CrescentError(ErrorCode.SEGMENT_NOT_FOUND, f"no transfer engine named '{target}'")
        return target

    def _publish(self):
        from .store import ReplicateConfig  # the store is optional for an engine: imported only when used
        code = self._metadata.upsert(METADATA_PREFIX + self.name, json.dumps({"tcp": self.session_id}).encode(),
                                     ReplicateConfig(with_hard_pin=True))
        if code != 0:
            raise CrescentError(ErrorCode.of(code), f"cannot publish transfer engine '{self.name}'")


class _Peer:
    def __init__(self, address: str, name: str, local: CrossMemoryPeer | None):
        self.address = address
        self.name = name
        self.local = local

    def run(self, op, items, tcp: TcpPath, pool):
        local = self.local
        if local is not None:
            try:
                local.run(op, items, pool)
                return
            except Refused as e:
                log.info("cross-memory attach to %s refused (%s): using TCP", self.address, e)
                self.local = None
                local.close()
        transfers = [Transfer(op, self.name, None, remote, address_view(address, length))
                     for address, remote, length in items]
        if len(transfers) > 1 and sum(length for _, _, length in items) > _SPLIT_BYTES:
            half = len(transfers) // 2
            other = pool.submit(tcp.run, self.address, transfers[half:])
            errors = tcp.run(self.address, transfers[:half]) + other.result()
        else:
            errors = tcp.run(self.address, transfers)
        for error in errors:
            if error is not None:
                raise error

    def close(self):
        if self.local is not None:
            self.local.close()


def _items(locals_, remote_addresses, lengths) -> list:
    """(local address, remote address, length) per transfer; mismatched lists are INVALID_PARAMS."""
    locals_, remote_addresses = list(locals_), list(remote_addresses)
    lengths = [None] * len(locals_) if lengths is None else list(lengths)
    if not len(locals_) == len(remote_addresses) == len(lengths):
        raise CrescentError(ErrorCode.INVALID_PARAMS,
                            f"{len(locals_)} buffers, {len(remote_addresses)} peer addresses, {len(lengths)} lengths")
    items = []
    for local, remote, length in zip(locals_, remote_addresses, lengths):
        address, size = address_of(local, length)
        if not isinstance(remote, int) or remote <= 0:
            raise CrescentError(ErrorCode.INVALID_PARAMS, f"bad peer address {remote!r}")
        items.append((address, remote, size))
    return items
