"""CrescentStore: the Python client, in the style of Mooncake's MooncakeDistributedStore.

Control goes to the master over its wire protocol (or gRPC); bytes move between the caller's buffers and the workers'
segments directly (shared memory on the same host, else the transfer engine's TCP protocol). A repeated get of an
object on a same-host segment is a memory copy with no master call while the object is unchanged
(location_cache.py). Methods answer like Mooncake's: ints
(0 or a size on success, a negative Crescent error number on failure), so a miss is a result, not an exception:
``get_into`` answers -704 and ``is_exist`` 0. Thread-safe: calls share only the connection pools and the location cache.
"""
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from google.protobuf.message import DecodeError

from ._proto import master_pb2 as pb
from .buffers import byte_view
from .batch_answers import batch_get_items
from .errors import CrescentError, ErrorCode
from .location_cache import LocationCache
from .master import MasterClient, status_error, trailing_bytes
from .put_spaces import LEAVES_SPACE, PutSpaces
from .tls import ClientTls
from .transfer import READ, WRITE, Endpoint, SharedMemoryPath, TcpPath, Transfer

_PROTOCOLS = ("auto", "tcp")
# Objects up to this size travel with their master call by default (the master's own default limit).
DEFAULT_INLINE_BYTES = 64 << 10
# Seconds a location read from a same-host segment is reused without asking the master (the Java client's default).
DEFAULT_CACHED_LOCATIONS = 1.0
# The most object bytes one batch call carries inline (the Java client's MasterClient.BATCH_INLINE_BYTES).
_BATCH_INLINE_BYTES = 4 << 20


@dataclass
class ReplicateConfig:
    """How a put wants its object kept (Mooncake's name). 0 replicas means the master's default."""
    replica_num: int = 0
    preferred_segments: list = field(default_factory=list)
    with_soft_pin: bool = False
    with_hard_pin: bool = False

    def to_proto(self) -> pb.ReplicaConfig:
        return pb.ReplicaConfig(replica_num=self.replica_num, preferred_segments=list(self.preferred_segments),
                                soft_pin=self.with_soft_pin, hard_pin=self.with_hard_pin)


@dataclass
class _Location:
    size: int
    replicas: list
    lease_deadline_ms: int
    lease_id: int
    value: bytes | None = None  # the object's bytes, when the master answered them instead of replicas
    version: int = 0  # published in the version words of replicas with a version slot (0: none)


class CrescentStore:
    def __init__(self):
        self._master = None
        self._client_id = None
        self._shm = None
        self._tcp = None
        self._config = ReplicateConfig()
        self._default_config_proto = None
        self._inline_bytes = DEFAULT_INLINE_BYTES
        self._locations = LocationCache(0)
        self._spaces = None

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def setup(self, master_server_addr: str = "localhost:8080", local_hostname: str | None = None,
              protocol: str = "auto", replica_num: int = 0, call_timeout: float = 5.0,
              transfer_timeout: float = 10.0, failover_window: float = 15.0, master_transport: str = "auto",
              tls: ClientTls | None = None, inline_bytes: int = DEFAULT_INLINE_BYTES,
              cached_locations: float = DEFAULT_CACHED_LOCATIONS, **_mooncake_only) -> int:
        """Connects to the master (``host:port`` of its HTTP port, or several comma-separated for an HA deployment).

        ``protocol``: "auto" uses shared memory for segments on this host and TCP for the others; "tcp" always TCP.
        ``master_transport``: "auto" calls the master over its wire protocol when it announces one, else gRPC;
        "wire" or "grpc" insist on one.
        ``tls``: for a master with mutual TLS, ``ClientTls(trusted, certificate, key)`` (PEM files); the
        certificate's subject CN is then this node's name for the master's access rules.
        ``inline_bytes``: objects up to this size travel with their master call (a put or get in one round trip
        where the master can move the bytes itself); 0: bytes always go to and from workers directly.
        ``cached_locations``: seconds a location read from a same-host segment is reused without asking the master,
        while the object's version word says it is current (0: every get asks the master).
        Mooncake's other set-up arguments (segment sizes, RDMA devices, metadata
        server) are accepted and ignored.
        """
        if protocol not in _PROTOCOLS:
            return int(ErrorCode.INVALID_PARAMS)
        name = local_hostname or socket.gethostname()
        self._client_id = f"py-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self._master = MasterClient(master_server_addr, name, call_timeout, failover_window, master_transport, tls,
                                        rings=protocol == "auto")
        except CrescentError as e:
            return int(e.code)
        self._shm = SharedMemoryPath() if protocol == "auto" else None
        self._tcp = TcpPath(self._client_id, transfer_timeout, tls.context() if tls is not None else None)
        self._config = ReplicateConfig(replica_num=replica_num)
        self._default_config_proto = None
        self._inline_bytes = max(0, int(inline_bytes))
        self._locations = LocationCache(cached_locations if self._shm is not None else 0)
        self._spaces = PutSpaces(self._shm.mapping) if self._shm is not None else None
        try:
            self._master.call("ServiceReady", pb.Empty())
        except CrescentError as e:
            self.close()
            return int(e.code)
        return 0

    def close(self) -> int:
        if self._master is not None:
            if self._spaces is not None and self._spaces.granted:
                self._master.release_spaces(self._client_id)  # their memory is free at once, not in 10 s
            self._master.close()
            self._tcp.close()
            if self._shm is not None:
                self._shm.close()
            self._master = None
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def register_buffer(self, address: int, size: int) -> int:
        """Kept for Mooncake compatibility: shared memory and TCP need no registration."""
        return 0

    def unregister_buffer(self, address: int) -> int:
        return 0

    # ---- single objects --------------------------------------------------------------------------------------

    def put(self, key, value, config: ReplicateConfig | None = None) -> int:
        return _code(lambda: self._put(key, [byte_view(value)], config, upsert=False))

    def put_from(self, key, buffer, size: int | None = None, config: ReplicateConfig | None = None) -> int:
        """Puts the first ``size`` bytes of ``buffer`` (all of it by default) without copying them in Python."""
        return _code(lambda: self._put(key, [byte_view(buffer, size)], config, upsert=False))

    def put_parts(self, key, *parts, config: ReplicateConfig | None = None) -> int:
        """Puts one object made of several buffers back to back (e.g. a block's K and V)."""
        return _code(lambda: self._put(key, [byte_view(p) for p in parts], config, upsert=False))

    def upsert(self, key, value, config: ReplicateConfig | None = None) -> int:
        """Puts, replacing an existing object (in place when the size is unchanged)."""
        return _code(lambda: self._put(key, [byte_view(value)], config, upsert=True))

    def upsert_from(self, key, buffer, size: int | None = None, config: ReplicateConfig | None = None) -> int:
        return _code(lambda: self._put(key, [byte_view(buffer, size)], config, upsert=True))

    def get(self, key) -> bytes:
        """The object's bytes, or b"" when it cannot be read (Mooncake's convention; use get_into to tell why)."""
        try:
            name = _key(key)
            cached = self._locations.size(name)
            if cached >= 0:
                value = bytearray(cached)
                if self._read_cached(name, cached, [memoryview(value)]):
                    return bytes(value)
            location = self._locate(key, self._inline_bytes)
            if location.value is not None:
                return location.value
            try:
                value = bytearray(location.size)
                self._read(key, location, [memoryview(value)])
                return bytes(value)
            finally:
                self._release(key, location)
        except CrescentError:
            return b""

    def get_into(self, key, buffer, size: int | None = None) -> int:
        """Reads the object into ``buffer``; answers its size, or -704 when absent, -600 when it does not fit."""
        return self._get_into_buffers(key, [buffer], [size])

    def get_into_parts(self, key, *buffers) -> int:
        """Reads the object across several buffers, filling each in turn (the reverse of put_parts)."""
        return self._get_into_buffers(key, list(buffers), [None] * len(buffers))

    def get_size(self, key) -> int:
        def run():
            location = self._locate(key)
            self._release(key, location)  # nothing is read
            return location.size
        return _code(run)

    def is_exist(self, key) -> int:
        """1 when the object exists, 0 when not, a negative error number when the master cannot tell."""
        return _code(lambda: 1 if self._call("Exist", pb.KeyRequest(key=_key(key))).exists else 0)

    def remove(self, key, force: bool = False) -> int:
        return _code(lambda: self._remove(key, force))

    def remove_all(self, force: bool = False) -> int:
        """Removes every object (leased ones too with ``force``); answers how many."""
        self._locations.clear()
        return _code(lambda: self._call("RemoveAll", pb.RemoveAllRequest(force=force)).removed)

    def _remove(self, key, force):
        self._locations.forget(_key(key))
        self._call("Remove", pb.RemoveRequest(key=_key(key), force=force))

    # ---- batches ---------------------------------------------------------------------------------------------

    def batch_is_exist(self, keys) -> list:
        def run():
            answer = self._call("BatchExist", pb.BatchKeysRequest(keys=[_key(k) for k in keys]))
            return [(1 if exists else 0) if status.code == 0 else status.code
                    for status, exists in zip(answer.statuses, answer.exists)]
        return _codes(run, len(keys))

    def batch_put_from(self, keys, buffers, sizes=None, config: ReplicateConfig | None = None) -> list:
        sizes = sizes or [None] * len(buffers)
        return self._batch_put(keys, lambda: [[byte_view(b, s)] for b, s in zip(buffers, sizes, strict=True)],
                               config, upsert=False)

    def batch_put_from_multi_buffers(self, keys, all_buffers, all_sizes=None,
                                     config: ReplicateConfig | None = None) -> list:
        """Puts each key's object made of several buffers back to back."""
        def views():
            sizes = all_sizes or [[None] * len(b) for b in all_buffers]
            return [[byte_view(b, s) for b, s in zip(bufs, szs, strict=True)]
                    for bufs, szs in zip(all_buffers, sizes, strict=True)]
        return self._batch_put(keys, views, config, upsert=False)

    def batch_put(self, keys, values, config: ReplicateConfig | None = None) -> list:
        return self._batch_put(keys, lambda: [[byte_view(v)] for v in values], config, upsert=False)

    def batch_upsert_from(self, keys, buffers, sizes=None, config: ReplicateConfig | None = None) -> list:
        sizes = sizes or [None] * len(buffers)
        return self._batch_put(keys, lambda: [[byte_view(b, s)] for b, s in zip(buffers, sizes, strict=True)],
                               config, upsert=True)

    def batch_get_into(self, keys, buffers, sizes=None) -> list:
        """Reads each key into its buffer; one result per key: its size or a negative error number."""
        sizes = sizes or [None] * len(buffers)
        return self._batch_get(keys, lambda: [[byte_view(b, s, writable=True)]
                                              for b, s in zip(buffers, sizes, strict=True)])

    def batch_get_into_multi_buffers(self, keys, all_buffers, all_sizes=None) -> list:
        def views():
            sizes = all_sizes or [[None] * len(b) for b in all_buffers]
            return [[byte_view(b, s, writable=True) for b, s in zip(bufs, szs, strict=True)]
                    for bufs, szs in zip(all_buffers, sizes, strict=True)]
        return self._batch_get(keys, views)

    def batch_get(self, keys) -> list:
        """Each key's bytes, b"" for a key that cannot be read."""
        values = [None] * len(keys)

        def target_for(i, size):
            values[i] = bytearray(size)
            return [memoryview(values[i])]
        results = _codes(lambda: self._read_many(keys, target_for), len(keys))
        return [bytes(v) if r >= 0 and v is not None else b"" for v, r in zip(values, results)]

    def batch_remove(self, keys, force: bool = False) -> list:
        def run():
            names = [_key(k) for k in keys]
            for name in names:
                self._locations.forget(name)
            answer = self._call("BatchRemove", pb.BatchKeysRequest(keys=names, force=force))
            return [s.code for s in answer.statuses]
        return _codes(run, len(keys))

    # ---- put -------------------------------------------------------------------------------------------------

    def _put(self, key, views, config, upsert):
        """Two-phase put: reserve, write every replica, then make the object visible. A failed write revokes the
        put; a reservation lost in a master failover (PutEnd answers OBJECT_NOT_FOUND) is put once more. A small
        object's bytes go with the put start, and so do a larger one's when the master streams them into place
        (``_sent_with_start``): a master that can write them itself ends the put in that call. A store
        that maps same-host segments copies the bytes into space granted ahead when it holds some of this size, and
        the put is over in one call that carries no bytes (put_spaces.py)."""
        key = _key(key)
        self._locations.forget(key)
        size = sum(v.nbytes for v in views)
        inline = self._sent_with_start(size)
        asked_at = time.monotonic()
        started = self._start_in_space(key, size, views, config, upsert) if self._spaces is not None else None
        if started is None:
            started = self._start(key, size, views if inline else None, config, upsert)
        if self._spaces is not None:
            self._spaces.keep(started, asked_at)  # for the next put of this size
        if started.committed:
            return
        self._write_replicas(key, started.replicas, views)
        try:
            self._call("PutEnd", pb.PutEndRequest(client_id=self._client_id, key=key))
        except CrescentError as e:
            if e.code != ErrorCode.OBJECT_NOT_FOUND:
                raise
            self._write_replicas(key, self._start(key, size, None, config, upsert).replicas, views)
            self._call("PutEnd", pb.PutEndRequest(client_id=self._client_id, key=key))

    def _sent_with_start(self, size) -> bool:
        """Whether a put's bytes go with its put start: a small object's (up to the inline limit), and a larger one's
        when the master streams it into place and this store maps no same-host segment (one that does copies the bytes
        into space granted ahead, which beats any socket). A store with inline values off sends neither."""
        return size <= self._inline_bytes or (
            self._inline_bytes > 0 and self._spaces is None and size <= self._master.streamed_put_bytes())

    def _start_in_space(self, key, size, views, config, upsert):
        """PutStart of bytes copied into space granted ahead, when this store holds space of ``size`` bytes; else
        None. The answer is committed, or (the space no longer this store's) the replicas to write."""
        space = self._copied_into_space(size, views)
        if space is None:
            return None
        try:
            return self._start(key, size, None, config, upsert, space.id)
        except CrescentError as e:
            if e.code in LEAVES_SPACE:
                self._spaces.give_back(space)
            raise

    def _copied_into_space(self, size, views):
        """A space of this store's that now holds the views' bytes, or None when it holds none of ``size`` bytes."""
        space = self._spaces.take(size)
        try:
            if space is None or not space.write(views):
                return None  # none held, or the master withdrew it (restarted, segment unmounted): of no more use
        except ValueError:
            return None  # the mapping was released (its segment's file is gone): the space is of no more use
        return space

    def _start(self, key, size, inline_views, config, upsert, in_space=0):
        """PutStart, carrying the bytes of ``inline_views`` when given, or naming the space ``in_space`` that holds
        them already: the answer is committed, or the replicas. A store that maps same-host segments asks for space
        for its next put of this size. The bytes travel as a field encoded after the message, sent from the caller's
        memory (``trailing_bytes``): set on the message, they were copied twice, into bytes and into its encoding."""
        request = pb.PutStartRequest(client_id=self._client_id, key=key, size=size, upsert=upsert,
                                     config=self._config_proto(config), in_space=in_space,
                                     writer_host=self._reader_host())
        trailing = ()
        if inline_views is not None and size:
            trailing = trailing_bytes(pb.PutStartRequest.VALUE_FIELD_NUMBER, [inline_views])
        return self._call("PutStart", request, trailing)

    def _write_replicas(self, key, replicas, views):
        errors = self._run(_writes(replicas, views))
        failure = next((e for e in errors if e is not None), None)
        if failure is not None:
            try:
                self._call("PutRevoke", pb.PutRevokeRequest(client_id=self._client_id, key=key))
            except CrescentError:
                pass  # The reservation expires on the master anyway; the write failure is what the caller needs.
            raise failure

    def _batch_put(self, keys, make_views, config, upsert):
        def run():
            names = [_key(k) for k in keys]
            for name in names:
                self._locations.forget(name)
            values = _parallel(make_views)
            if len(values) != len(names):
                raise CrescentError(ErrorCode.INVALID_PARAMS, f"{len(names)} keys but {len(values)} values")
            sizes = [sum(v.nbytes for v in vs) for vs in values]
            asked_at = time.monotonic()
            # As one put does (_start_in_space): objects of sizes this store holds space for are copied there first.
            spaces = [self._copied_into_space(size, vs) if self._spaces is not None else None
                      for vs, size in zip(values, sizes)]
            request = pb.BatchPutStartRequest(client_id=self._client_id, keys=names, sizes=sizes,
                                              config=self._config_proto(config), upsert=upsert,
                                              writer_host=self._reader_host())
            if any(spaces):
                request.in_spaces.extend(space.id if space else 0 for space in spaces)
            sent = self._sent_inline(values, sizes, spaces)
            trailing = ()
            if any(sent):
                # After the rest of the message: a master may read them as they come, into place (values_last).
                request.values_last = True
                trailing = trailing_bytes(pb.BatchPutStartRequest.VALUES_FIELD_NUMBER, sent)
            try:
                started = self._call("BatchPutStart", request, trailing).items
            except CrescentError as e:
                if e.code in LEAVES_SPACE:  # refused whole, before anything was made
                    for space in filter(None, spaces):
                        self._spaces.give_back(space)
                raise
            for item, space in zip(started, spaces):
                if item.status.code == 0 and self._spaces is not None:
                    self._spaces.keep(item, asked_at)  # for a later put of this size
                elif space is not None and item.status.code in LEAVES_SPACE:
                    self._spaces.give_back(space)  # the master refused this key and left the space this store's
            results = [status_error(item.status) for item in started]
            transfers, owner = [], []
            for i, item in enumerate(started):
                if results[i] is None and not item.committed:
                    for t in _writes(item.replicas, values[i]):
                        transfers.append(t)
                        owner.append(i)
            for i, error in zip(owner, self._run(transfers)):
                if error is not None and results[i] is None:
                    results[i] = error
            failed = [names[i] for i, item in enumerate(started) if item.status.code == 0 and results[i] is not None]
            if failed:
                self._call("BatchPutRevoke", pb.BatchKeysRequest(client_id=self._client_id, keys=failed))
            written = [i for i in range(len(names)) if results[i] is None and not started[i].committed]
            if written:
                ended = self._call("BatchPutEnd", pb.BatchKeysRequest(
                    client_id=self._client_id, keys=[names[i] for i in written])).statuses
                for i, status in zip(written, ended):
                    results[i] = status_error(status)
                    if results[i] is not None and results[i].code == ErrorCode.OBJECT_NOT_FOUND:
                        results[i] = _error_of(lambda: self._put(names[i], values[i], config, upsert))
            return [0 if r is None else int(r.code) for r in results]
        return _codes(run, len(keys))

    def _sent_inline(self, values, sizes, spaces) -> list:
        """Per object, its views when its bytes go with the batch's put start, else None (not sent): small objects'
        (up to the inline limit) within the call's budget of ``_BATCH_INLINE_BYTES``, when not copied into a space
        already; and larger ones a single put would stream (``_sent_with_start``) when all of them fit in that budget
        too. A batch whose large objects come to more is written by the transfer engine, whose parallel writes beat
        one socket there. They are sent from the caller's memory (``trailing_bytes``): copying a batch's values into
        the message took several fresh megabyte-sized buffers per call, each paid in page faults."""
        sendable = [space is None and 0 < size and self._sent_with_start(size) for size, space in zip(sizes, spaces)]
        streams_large = sum(size for size, ok in zip(sizes, sendable)
                            if ok and size > self._inline_bytes) <= _BATCH_INLINE_BYTES
        sent, budget = [], _BATCH_INLINE_BYTES
        for views, size, ok in zip(values, sizes, sendable):
            inline = ok and size <= budget and (size <= self._inline_bytes or streams_large)
            budget -= size if inline else 0
            sent.append(views if inline else None)
        return sent

    # ---- get -------------------------------------------------------------------------------------------------

    def _get_into_buffers(self, key, buffers, sizes):
        def run():
            targets = [byte_view(b, s, writable=True) for b, s in zip(buffers, sizes)]
            name = _key(key)
            cached = self._locations.size(name)
            if self._read_cached(name, cached, targets):
                return cached
            location = self._locate(key, min(self._inline_bytes, sum(t.nbytes for t in targets)))
            try:
                self._read(key, location, targets)
            finally:
                self._release(key, location)
            return location.size
        return _code(run)

    def _locate(self, key, accept_inline=0) -> _Location:
        """The object's replicas, or its bytes when it is at most ``accept_inline`` and the master can read them."""
        return _location(self._call("GetReplicaList", pb.GetReplicaListRequest(
            key=_key(key), accept_inline=accept_inline, reader_host=self._reader_host() if accept_inline else "")))

    def _reader_host(self) -> str:
        """This host, when this store maps same-host segments: the master answers those as replicas, not bytes."""
        return self._shm.host_id if self._shm is not None else ""

    def _batch_locate(self, keys, targets_for) -> tuple[list, list, list, dict]:
        """One master call for ``keys``; per key its _Location or CrescentError, its targets (``targets_for(index,
        size)``), and its result when the answer settles it: an error, or the size of an object the master answered
        with its bytes. Those bytes are copied into the targets during the call, straight from the buffer the answer
        was read into (batch_answers.py). None for the keys still to be read from a replica; for those, by index,
        the pieces of their targets their bytes go into."""
        def read(answer):
            items, values = batch_get_items(answer, len(keys))
            if len(items) != len(keys):
                raise DecodeError(f"{len(items)} items answered for {len(keys)} keys")
            located, targets, answered, to_read = [], [], [], {}
            for n, (item, value) in enumerate(zip(items, values)):
                location = status_error(item.status) or _location(item.location)
                located.append(location)
                targets.append(targets_for(n, location.size) if isinstance(location, _Location) else [])
                result, pieces = _settled(keys[n], location, value, targets[n])
                answered.append(result)
                if result is None:
                    to_read[n] = pieces
            return located, targets, answered, to_read
        return self._call("BatchGetReplicaList", pb.BatchKeysRequest(
            keys=keys, accept_inline=self._inline_bytes, reader_host=self._reader_host()), read=read)

    def _release(self, key, location):
        """The read under ``location``'s lease is over (handed back to the master with a later call)."""
        self._master.release(_key(key), location.lease_id)

    def _read(self, key, location, targets, first_replica=0, earlier=None):
        """Reads from the replicas in preference order until one read can be trusted; raises the last reason."""
        pieces = _fit(key, location.size, targets)
        if location.value is not None:
            _copy(location.value, pieces)
            return
        last = earlier
        for replica in self._in_preference_order(location.replicas)[first_replica:]:
            errors = self._run(_reads(replica, pieces))
            last = next((e for e in errors if e is not None), None) or _lease_error(key, location)
            if last is None:
                self._locations.remember(_key(key), location, self._mapping)
                return
        raise last or CrescentError(ErrorCode.TRANSFER_FAIL, f"every replica of '{key}' failed to read")

    def _batch_get(self, keys, make_targets):
        def run():
            targets = _parallel(make_targets)
            if len(targets) != len(keys):
                raise CrescentError(ErrorCode.INVALID_PARAMS, f"{len(keys)} keys but {len(targets)} buffers")
            return self._read_many(keys, lambda i, size: targets[i])
        return _codes(run, len(keys))

    def _read_many(self, keys, targets_for) -> list:
        """Reads each key into ``targets_for(index, size)``: keys whose cached location is current by a memory copy,
        the others with one master call and one transfer round. One size or negative error number per key."""
        names = [_key(k) for k in keys]
        results, asked = [None] * len(names), []
        for i, name in enumerate(names):
            size = self._locations.size(name)
            if size >= 0 and self._read_cached(name, size, targets_for(i, size)):
                results[i] = size
            else:
                asked.append(i)
        if asked:
            asked_names = [names[i] for i in asked]
            located, targets, answered, to_read = self._batch_locate(
                asked_names, lambda n, size: targets_for(asked[n], size))
            for i, result in zip(asked, self._read_batch(asked_names, located, targets, answered, to_read)):
                results[i] = result
        return results

    def _read_cached(self, name: str, size, targets) -> bool:
        """Reads object ``name`` into ``targets`` through its cached location of ``size`` bytes (what the cache's
        ``size`` answered); False when the master must be asked (no current location, or targets too small: the
        master's answer says so)."""
        if size < 0:
            return False
        try:
            pieces = _fit(name, size, targets)
        except CrescentError:
            return False
        return self._locations.read(name, size, pieces)

    def _mapping(self, replica):
        """The mapped file of ``replica``'s segment when this store maps it, else None."""
        return self._shm.mapping(replica.segment, replica.endpoint) if self._shm is not None else None

    def _read_batch(self, keys, located, targets, answered, to_read) -> list:
        """One transfer round for every key's first-choice replica (the keys ``to_read``, by index the pieces their
        bytes go into; the others' results are ``answered`` already); keys whose read failed fall back one by one.
        Every lease is handed back once the reads are over."""
        try:
            return self._read_located(keys, located, targets, answered, to_read)
        finally:
            for key, location in zip(keys, located):
                if not isinstance(location, CrescentError):
                    self._release(key, location)

    def _read_located(self, keys, located, targets, answered, to_read) -> list:
        results = list(answered)
        transfers, owner = [], []
        for i, pieces in to_read.items():
            replicas = self._in_preference_order(located[i].replicas)
            if not replicas:
                results[i] = int(ErrorCode.REPLICA_IS_NOT_READY)
                continue
            for t in _reads(replicas[0], pieces):
                transfers.append(t)
                owner.append(i)
        first_errors = {}
        for i, error in zip(owner, self._run(transfers)):
            if error is not None:
                first_errors.setdefault(i, error)
        for i in to_read:
            if results[i] is not None:
                continue
            location = located[i]
            error = first_errors.get(i) or _lease_error(keys[i], location)
            if error is None:
                self._locations.remember(_key(keys[i]), location, self._mapping)
            else:
                error = _error_of(lambda: self._read(keys[i], location, targets[i], 1, error))
            results[i] = location.size if error is None else int(error.code)
        return results

    # ---- transfers -------------------------------------------------------------------------------------------

    def _in_preference_order(self, replicas):
        """Shared memory first, then TCP; replicas this process cannot reach (in-JVM segments) are left out."""
        if len(replicas) == 1:
            return replicas if self._rank(replicas[0].endpoint) < 2 else []
        ranked = sorted((self._rank(r.endpoint), n, r) for n, r in enumerate(replicas))
        return [r for rank, _, r in ranked if rank < 2]

    def _rank(self, endpoint: Endpoint) -> int:
        if self._shm is not None and self._shm.reaches(endpoint):
            return 0
        return 1 if endpoint.tcp else 2

    def _run(self, transfers) -> list:
        """Runs transfers (shared memory directly, TCP pipelined per peer); one error or None per transfer."""
        self._require_open()
        errors = [None] * len(transfers)
        by_peer = {}
        for i, t in enumerate(transfers):
            if self._shm is not None and self._shm.reaches(t.endpoint):
                errors[i] = _error_of(lambda: self._shm.run(t))
            elif t.endpoint.tcp:
                by_peer.setdefault((t.endpoint.tcp, t.endpoint.tls), []).append(i)
            else:
                errors[i] = CrescentError(ErrorCode.TRANSFER_FAIL,
                                          f"segment {t.segment} has no endpoint this process can reach")
        for (peer, tls), indexes in by_peer.items():
            for i, error in zip(indexes, self._tcp.run(peer, [transfers[i] for i in indexes], tls)):
                errors[i] = error
        return errors

    def _call(self, method, request, trailing=(), read=None):
        self._require_open()
        return self._master.call(method, request, trailing, read)

    def _config_proto(self, config):
        """The put's ReplicaConfig message; the store's default one is built once."""
        if config is not None:
            return config.to_proto()
        if self._default_config_proto is None:
            self._default_config_proto = self._config.to_proto()
        return self._default_config_proto

    def _require_open(self):
        if self._master is None:
            raise CrescentError(ErrorCode.INVALID_PARAMS, "the store is not set up (call setup first) or is closed")


def _parallel(make):
    """Views built from parallel lists (buffers and sizes): lists of different lengths are bad input, not a crash."""
    try:
        return make()
    except ValueError as e:  # zip(..., strict=True)
        raise CrescentError(ErrorCode.INVALID_PARAMS, f"buffers and sizes do not match: {e}") from None


def _key(key) -> str:
    if isinstance(key, bytes):
        return key.decode()
    if not isinstance(key, str):
        raise CrescentError(ErrorCode.INVALID_KEY, f"key must be str, not {type(key).__name__}")
    return key


def _location(response) -> _Location:
    replicas = [_Replica(r.segment, Endpoint.parse(r.endpoint), r.offset, r.ticket, r.version_slot)
                for r in response.replicas]
    return _Location(response.size, replicas, response.lease_deadline_ms, response.lease_id, response.value or None,
                     response.version)


class _Replica(NamedTuple):
    """One copy of an object as the master located it (a tuple: built on every read, so it must be cheap)."""
    segment: str
    endpoint: Endpoint
    offset: int
    ticket: bytes
    version_slot: int  # where the object's version word lies in the segment's shared-memory file (0: none)


def _writes(replicas, views) -> list:
    """Every replica gets every part, back to back from the start of its range."""
    transfers = []
    for r in replicas:
        endpoint = Endpoint.parse(r.endpoint)
        offset = r.offset
        for view in views:
            if view.nbytes:
                transfers.append(Transfer(WRITE, r.segment, endpoint, offset, view, r.ticket))
            offset += view.nbytes
    return transfers


def _fit(key, size, targets) -> list:
    """The target views cut to the object's size, each with its offset in the object."""
    if len(targets) == 1 and targets[0].nbytes >= size:  # the common case, on every get
        return [(0, targets[0] if targets[0].nbytes == size else targets[0][:size])]
    room = sum(t.nbytes for t in targets)
    if room < size:
        raise CrescentError(ErrorCode.INVALID_PARAMS, f"buffer of {room} bytes is smaller than object '{key}' ({size})")
    pieces, offset = [], 0
    for target in targets:
        if offset == size:
            break
        take = min(target.nbytes, size - offset)
        pieces.append((offset, target[:take]))
        offset += take
    return pieces


def _settled(key, location, value, targets) -> tuple:
    """The result a batch answer settles for one key (see _batch_locate), copying ``value`` (a view of the answer, or
    None when the location holds the bytes) into the targets, and the pieces of the targets; a result of None when
    the key is still to be read into those pieces."""
    if isinstance(location, CrescentError):
        return int(location.code), None
    value = value if value is not None else location.value
    try:
        pieces = _fit(key, location.size, targets)
    except CrescentError as e:
        return int(e.code), None
    if value is None:
        return None, pieces
    _copy(value, pieces)
    return location.size, pieces


def _copy(value: bytes, pieces):
    """The bytes the master answered, into the target pieces."""
    source = memoryview(value)
    for offset, view in pieces:
        view[:] = source[offset:offset + view.nbytes]


def _reads(replica, pieces) -> list:
    return [Transfer(READ, replica.segment, replica.endpoint, replica.offset + offset, view, replica.ticket)
            for offset, view in pieces]


def _lease_error(key, location):
    if time.time() * 1000 > location.lease_deadline_ms:
        return CrescentError(ErrorCode.LEASE_EXPIRED, f"read of '{key}' finished after its lease; bytes may be stale")
    return None


def _error_of(action):
    try:
        action()
        return None
    except CrescentError as e:
        return e


def _code(action) -> int:
    try:
        result = action()
        return 0 if result is None else int(result)
    except CrescentError as e:
        return int(e.code)


def _codes(action, count) -> list:
    try:
        return action()
    except CrescentError as e:
        return [int(e.code)] * count
