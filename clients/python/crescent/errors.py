"""Crescent's stable error numbers (the same as the Java ErrorCode enum and the REST/gRPC gateways)."""
from enum import IntEnum


class ErrorCode(IntEnum):
    OK = 0
    INTERNAL_ERROR = -1
    SEGMENT_NOT_FOUND = -101
    SEGMENT_ALREADY_EXISTS = -102
    CLIENT_NOT_FOUND = -103
    SEGMENT_CONTENTS_UNKNOWN = -104
    NO_AVAILABLE_HANDLE = -200
    QUOTA_EXCEEDED = -201
    INVALID_KEY = -400
    INVALID_PARAMS = -600
    ILLEGAL_CLIENT = -601
    REPLICA_IS_NOT_READY = -703
    OBJECT_NOT_FOUND = -704
    OBJECT_ALREADY_EXISTS = -705
    OBJECT_HAS_LEASE = -706
    LEASE_EXPIRED = -707
    TRANSFER_FAIL = -800
    CHECKSUM_MISMATCH = -801
    RPC_FAIL = -900
    RPC_TIMEOUT = -901
    METADATA_ERROR = -1000
    NOT_LEADER = -1010
    PERMISSION_DENIED = -1100
    UNAUTHENTICATED = -1101
    UNSUPPORTED = -1200
    EVENTS_LOST = -1300

    @classmethod
    def of(cls, number: int) -> "ErrorCode":
        """The code for a wire number; unknown numbers become INTERNAL_ERROR rather than failing the caller."""
        try:
            return cls(number)
        except ValueError:
            return cls.INTERNAL_ERROR


class CrescentError(Exception):
    """A failed store operation with its stable code. The int-returning API turns it into ``code`` (negative)."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(f"{code.name} ({int(code)}): {message}")
        self.code = code
        self.message = message
