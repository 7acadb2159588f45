"""The master's control plane over gRPC (MasterService in master.proto), with leader failover.

Errors come back as a gRPC status whose trailer ``crescent-code`` holds the Crescent error number. With several
master addresses (an HA deployment), a call answered NOT_LEADER or refused at connect moves to the next address and
is tried again with back-off until ``failover_window`` has passed: callers see a delay, not an error.
"""
import random
import threading
import time

import grpc

from ._proto import master_pb2 as pb
from .errors import CrescentError, ErrorCode

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
}
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


class MasterClient:
    def __init__(self, addresses, node_name: str, call_timeout: float = 5.0, failover_window: float = 15.0):
        self._addresses = [a.strip() for a in addresses.split(",") if a.strip()] if isinstance(addresses, str) \
            else list(addresses)
        if not self._addresses:
            raise CrescentError(ErrorCode.INVALID_PARAMS, "no master address given")
        self._metadata = (("crescent-node", node_name),)
        self._call_timeout = call_timeout
        self._failover_window = failover_window
        self._lock = threading.Lock()
        self._current = 0
        self._channels = [None] * len(self._addresses)
        self._stubs = [None] * len(self._addresses)

    def call(self, method: str, request):
        """Calls ``method`` on the leader; raises CrescentError with the master's code on failure."""
        deadline = time.monotonic() + self._failover_window
        backoff = 0.05
        while True:
            index, stub = self._stub(method)
            try:
                return stub(request, timeout=self._call_timeout, metadata=self._metadata)
            except grpc.RpcError as e:
                error = _to_error(e)
                retry = error.code in (ErrorCode.NOT_LEADER, ErrorCode.RPC_FAIL) or (
                    error.code == ErrorCode.RPC_TIMEOUT and method in _SAFE_AFTER_TIMEOUT)
                if not retry or time.monotonic() + backoff > deadline:
                    raise error from None
                self._move_on(index)
                time.sleep(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, 1.0)

    def close(self):
        with self._lock:
            for channel in self._channels:
                if channel is not None:
                    channel.close()
            self._channels = [None] * len(self._addresses)
            self._stubs = [None] * len(self._addresses)

    def _stub(self, method):
        with self._lock:
            index = self._current
            stubs = self._stubs[index]
            if stubs is None:
                channel = grpc.insecure_channel(self._addresses[index], options=[
                    ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                    ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)])
                stubs = {name: channel.unary_unary(_SERVICE + name, request_serializer=req.SerializeToString,
                                                   response_deserializer=resp.FromString)
                         for name, (req, resp) in _METHODS.items()}
                self._channels[index] = channel
                self._stubs[index] = stubs
            return index, stubs[method]

    def _move_on(self, failed_index):
        """After a failure at ``failed_index``, the next call goes to the next address (one master: the same)."""
        with self._lock:
            if self._current == failed_index:
                self._current = (failed_index + 1) % len(self._addresses)


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
