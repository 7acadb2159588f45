"""Mooncake's Python ``TransferEngine`` over Crescent's Python transfer engine (crescent.engine): Mooncake's method
names, positional argument order and return conventions (0 on success and a negative number on failure; batch ids
from the async calls, 0 or -1 when they cannot start), so the disaggregation connectors of vLLM
(``MooncakeConnector``) and SGLang (``MooncakeTransferEngine``) run on Crescent unchanged. Install the
``crescent-mooncake-shim`` distribution to make it importable as ``mooncake.engine``.

Restated from Mooncake's ``mooncake-integration/transfer_engine/transfer_engine_py.cpp`` (commit 007354cc).

What differs from Mooncake, on purpose:
- ``metadata_server``: "P2PHANDSHAKE" (peers named by session id ``host:rpc_port``, which both connectors use), or a
  Crescent master (``crescent://host:port``, or ``host:port`` of its HTTP port): engines publish themselves there
  and peers are named by their ``local_hostname``. Mooncake's own metadata services (etcd://, http://, redis://)
  are refused with UNSUPPORTED: Crescent keeps its metadata in its master.
- ``protocol`` and ``device_name`` choose nothing: a peer on this host is reached by cross-memory attach, others over
  TCP. There is no RDMA path in Python; "rdma" works over these paths (logged once).
- Failures answer Crescent's error numbers (TRANSFER_FAIL -800, INVALID_PARAMS -600, ...), all negative as
  Mooncake's -1 is; nothing raises.
- ``get_notifies`` answers an empty list (notifications are not implemented); the CUDA-stream calls are absent, as
  in a Mooncake build without CUDA.
"""
import ctypes
import enum
import itertools
import json
import logging
import os
import threading

from .engine import TransferEngine as _CrescentEngine
from .errors import CrescentError, ErrorCode

log = logging.getLogger("crescent.mooncake")

P2PHANDSHAKE = "P2PHANDSHAKE"
_FAILED = -1
_LOCATION_ANY = "*"


class TransferOpcode(enum.IntEnum):
    Read = 0
    Write = 1


Read, Write = TransferOpcode.Read, TransferOpcode.Write


class TransferNotify:
    def __init__(self, name: str = "", msg: str = ""):
        self.name = name
        self.msg = msg


def _code(e: Exception) -> int:
    return int(e.code) if isinstance(e, CrescentError) else int(ErrorCode.INVALID_PARAMS)


class TransferEngine:
    TransferOpcode = TransferOpcode

    def __init__(self):
        self._engine = None
        self._store = None
        self._managed = {}
        self._batches = {}
        self._batch_ids = itertools.count(1)
        self._lock = threading.Lock()
        timeout = os.environ.get("MC_TRANSFER_TIMEOUT")
        self._timeout = max(5, int(timeout)) if timeout and timeout.isdigit() else 30

    # --- set-up ---

    def initialize(self, local_hostname: str, metadata_server: str, protocol: str, device_name: str) -> int:
        metadata_type, _, server = metadata_server.rpartition("://")
        return self.initialize_ext(local_hostname, server, protocol, device_name, metadata_type)

    def initialize_ext(self, local_hostname: str, metadata_server: str, protocol: str, device_name: str,
                       metadata_type: str) -> int:
        if self._engine is not None:
            log.error("transfer engine already initialized")
            return int(ErrorCode.INVALID_PARAMS)
        if protocol not in ("tcp", ""):
            log.info("protocol '%s': Crescent's Python engine moves bytes by cross-memory attach on this host and "
                     "TCP elsewhere", protocol)
        host, port = _host_and_port(local_hostname)
        try:
            if metadata_server == P2PHANDSHAKE:
                self._engine = _CrescentEngine(host, port, timeout=self._timeout)
            elif metadata_type in ("", "crescent"):
                from .store import CrescentStore  # a store only where the master is the metadata service
                self._store = CrescentStore()
                code = self._store.setup(metadata_server, local_hostname=host)
                if code != 0:
                    raise CrescentError(ErrorCode.of(code), f"cannot reach the Crescent master {metadata_server}")
                self._engine = _CrescentEngine(host, port, metadata=self._store, name=local_hostname,
                                               timeout=self._timeout)
            else:
                raise CrescentError(ErrorCode.UNSUPPORTED,
                                    f"metadata server {metadata_type}://: use P2PHANDSHAKE or a Crescent master")
        except (CrescentError, OSError) as e:
            log.error("transfer engine initialization failed: %s", e)
            self._close_store()
            return _code(e) if isinstance(e, CrescentError) else _FAILED
        return 0

    def get_rpc_port(self) -> int:
        return self._engine.port if self._engine is not None else _FAILED

    def get_engine(self):
        """The Crescent engine behind this one (Mooncake answers its C++ engine here)."""
        return self._engine

    def get_local_topology(self, device_name=None) -> str:
        return json.dumps({"cpu:0": {"preferred_hca": [], "avail_hca": []}})

    # --- memory ---

    def register_memory(self, buffer_addr: int, capacity: int, location: str = _LOCATION_ANY) -> int:
        return self._call(lambda: self._engine.register(buffer_addr, capacity))

    def unregister_memory(self, buffer_addr: int) -> int:
        return self._call(lambda: self._engine.unregister(buffer_addr))

    def batch_register_memory(self, buffer_addresses, capacities, location: str = _LOCATION_ANY) -> int:
        def run():
            if len(buffer_addresses) != len(capacities):
                raise CrescentError(ErrorCode.INVALID_PARAMS, "addresses and capacities differ in length")
            for address, capacity in zip(buffer_addresses, capacities):
                self._engine.register(address, capacity)
        return self._call(run)

    def batch_unregister_memory(self, buffer_addresses) -> int:
        def run():
            for address in buffer_addresses:
                self._engine.unregister(address)
        return self._call(run)

    def allocate_managed_buffer(self, length: int) -> int:
        """A registered buffer of ``length`` bytes owned by the engine; 0 when it cannot be had."""
        try:
            buffer = (ctypes.c_ubyte * length)()
            address = self._engine.register(ctypes.addressof(buffer), length)
        except (CrescentError, ValueError, TypeError, MemoryError, AttributeError):
            return 0
        with self._lock:
            self._managed[address] = buffer
        return address

    def free_managed_buffer(self, buffer_addr: int, length: int) -> int:
        with self._lock:
            buffer = self._managed.pop(buffer_addr, None)
        if buffer is None:
            return int(ErrorCode.INVALID_PARAMS)
        return self._call(lambda: self._engine.unregister(buffer_addr))

    def write_bytes_to_buffer(self, dest_address: int, src_ptr: bytes, length: int) -> int:
        if length < 0 or length > len(src_ptr) or dest_address <= 0:
            return int(ErrorCode.INVALID_PARAMS)
        ctypes.memmove(dest_address, src_ptr, length)
        return 0

    def read_bytes_from_buffer(self, source_address: int, length: int) -> bytes:
        return ctypes.string_at(source_address, length) if source_address > 0 and length > 0 else b""

    # --- synchronous transfers ---

    def transfer_sync_write(self, target_hostname, buffer, peer_buffer_address, length, transport_hint="") -> int:
        return self.transfer_sync(target_hostname, buffer, peer_buffer_address, length, TransferOpcode.Write)

    def transfer_sync_read(self, target_hostname, buffer, peer_buffer_address, length, transport_hint="") -> int:
        return self.transfer_sync(target_hostname, buffer, peer_buffer_address, length, TransferOpcode.Read)

    def batch_transfer_sync_write(self, target_hostname, buffers, peer_buffer_addresses, lengths,
                                  transport_hint="") -> int:
        return self.batch_transfer_sync(target_hostname, buffers, peer_buffer_addresses, lengths,
                                        TransferOpcode.Write)

    def batch_transfer_sync_read(self, target_hostname, buffers, peer_buffer_addresses, lengths,
                                 transport_hint="") -> int:
        return self.batch_transfer_sync(target_hostname, buffers, peer_buffer_addresses, lengths,
                                        TransferOpcode.Read)

    def transfer_sync(self, target_hostname, buffer, peer_buffer_address, length, opcode, notify=None,
                      transport_hint="") -> int:
        return self.batch_transfer_sync(target_hostname, [buffer], [peer_buffer_address], [length], opcode)

    def batch_transfer_sync(self, target_hostname, buffers, peer_buffer_addresses, lengths, opcode, notify=None,
                            transport_hint="") -> int:
        def run():
            move = self._engine.batch_read if opcode == TransferOpcode.Read else self._engine.batch_write
            move(target_hostname, list(buffers), list(peer_buffer_addresses), list(lengths))
        return self._call(run)

    # --- asynchronous transfers ---

    def batch_transfer_async_write(self, target_hostname, buffers, peer_buffer_addresses, lengths,
                                   transport_hint="") -> int:
        return self.batch_transfer_async(target_hostname, buffers, peer_buffer_addresses, lengths,
                                         TransferOpcode.Write)

    def batch_transfer_async_read(self, target_hostname, buffers, peer_buffer_addresses, lengths,
                                  transport_hint="") -> int:
        return self.batch_transfer_async(target_hostname, buffers, peer_buffer_addresses, lengths,
                                         TransferOpcode.Read)

    def batch_transfer_async(self, target_hostname, buffers, peer_buffer_addresses, lengths, opcode,
                             transport_hint="") -> int:
        """A batch id for get_batch_transfer_status / transfer_check_status; 0 when the batch cannot start."""
        return self._submit(target_hostname, buffers, peer_buffer_addresses, lengths, opcode, 0)

    def transfer_submit_write(self, target_hostname, buffer, peer_buffer_address, length, transport_hint="") -> int:
        """A batch id for transfer_check_status; -1 when the transfer cannot start."""
        return self._submit(target_hostname, [buffer], [peer_buffer_address], [length], TransferOpcode.Write,
                            _FAILED)

    def get_batch_transfer_status(self, batch_ids) -> int:
        """Waits for every batch: 0 when all completed, -1 when one failed or timed out."""
        failed = False
        for batch_id in batch_ids:
            with self._lock:
                future = self._batches.pop(batch_id, None)
            if future is None:
                failed = True
                continue
            try:
                future.result(timeout=self._timeout)
            except Exception:
                failed = True
        return _FAILED if failed else 0

    def transfer_check_status(self, batch_id: int) -> int:
        """1 completed, 0 still running, -1 failed (a finished batch's id is then forgotten)."""
        with self._lock:
            future = self._batches.get(batch_id)
        if future is None:
            return _FAILED
        if not future.done():
            return 0
        with self._lock:
            self._batches.pop(batch_id, None)
        return 1 if future.exception() is None else _FAILED

    # --- peers ---

    def get_first_buffer_address(self, segment_name: str) -> int:
        try:
            return self._engine.first_region_of(segment_name)
        except CrescentError:
            return 0

    def send_probe(self, peer_server_name: str) -> int:
        return self._call(lambda: self._engine.first_region_of(peer_server_name))

    def get_notifies(self) -> list:
        return []

    def close(self):
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self._close_store()

    def _submit(self, target, buffers, peer_addresses, lengths, opcode, failure) -> int:
        if self._engine is None:
            return failure
        move = self._engine.batch_read_async if opcode == TransferOpcode.Read else self._engine.batch_write_async
        try:
            future = move(target, list(buffers), list(peer_addresses), list(lengths))
        except CrescentError as e:
            log.warning("transfer to %s not started: %s", target, e)
            return failure
        batch_id = next(self._batch_ids)
        with self._lock:
            self._batches[batch_id] = future
        return batch_id

    def _call(self, action) -> int:
        if self._engine is None:
            return int(ErrorCode.INVALID_PARAMS)
        try:
            action()
            return 0
        except (CrescentError, ValueError, TypeError) as e:
            log.debug("transfer engine call failed: %s", e)
            return _code(e)

    def _close_store(self):
        if self._store is not None:
            self._store.close()
            self._store = None


def _host_and_port(local_hostname: str):
    """Mooncake's local_hostname is ``host`` or ``host:port`` (IPv6 in brackets)."""
    host, separator, port = local_hostname.rpartition(":")
    if separator and port.isdigit() and (not host.count(":") or host.startswith("[")):
        return host.strip("[]"), int(port)
    return local_hostname.strip("[]"), 0
