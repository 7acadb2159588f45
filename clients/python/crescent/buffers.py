"""Caller buffers as flat byte views without copies: anything with the buffer protocol (bytes, bytearray,
memoryview, mmap, numpy arrays), CPU torch tensors (which lack the buffer protocol; their memory is viewed through
their data pointer), and raw addresses with a size, as in Mooncake's pointer API."""
import ctypes

from .errors import CrescentError, ErrorCode


def byte_view(buffer, size=None, writable=False) -> memoryview:
    """A 1-D unsigned-byte view of ``buffer`` (its first ``size`` bytes when given). The view shares the caller's
    memory: the caller keeps the buffer alive for the duration of the call, as with any zero-copy API."""
    if isinstance(buffer, int) and not isinstance(buffer, bool):
        if size is None:
            raise CrescentError(ErrorCode.INVALID_PARAMS, "a buffer given by address needs a size")
        return address_view(buffer, size)
    if _is_tensor(buffer):
        view = _tensor_view(buffer)
    else:
        try:
            view = memoryview(buffer)
        except TypeError:
            raise CrescentError(ErrorCode.INVALID_PARAMS,
                                f"{type(buffer).__name__} is not a buffer (bytes-like, numpy array or CPU tensor)") from None
        if not view.c_contiguous:
            raise CrescentError(ErrorCode.INVALID_PARAMS, "buffer must be C-contiguous")
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
    if writable and view.readonly:
        raise CrescentError(ErrorCode.INVALID_PARAMS, f"{type(buffer).__name__} is read-only; pass a writable buffer")
    if size is not None:
        if size < 0 or size > view.nbytes:
            raise CrescentError(ErrorCode.INVALID_PARAMS, f"size {size} outside the buffer's {view.nbytes} bytes")
        view = view[:size]
    return view


def address_view(address: int, size: int) -> memoryview:
    """A writable view of ``size`` bytes at a raw address (memory the caller owns, e.g. a pinned host pool)."""
    if size < 0 or (address == 0 and size > 0):
        raise CrescentError(ErrorCode.INVALID_PARAMS, f"bad buffer address {address:#x} / size {size}")
    if size == 0:
        return memoryview(bytearray())
    return memoryview((ctypes.c_ubyte * size).from_address(address)).cast("B")


def _is_tensor(buffer) -> bool:
    return hasattr(buffer, "data_ptr") and hasattr(buffer, "element_size") and hasattr(buffer, "is_contiguous")


def _tensor_view(tensor) -> memoryview:
    if getattr(tensor.device, "type", "cpu") != "cpu":
        raise CrescentError(ErrorCode.INVALID_PARAMS,
                            f"tensor is on {tensor.device}; copy it to a (pinned) CPU tensor first")
    if not tensor.is_contiguous():
        raise CrescentError(ErrorCode.INVALID_PARAMS, "tensor must be contiguous")
    return address_view(tensor.data_ptr(), tensor.numel() * tensor.element_size())


def address_of(buffer, size=None) -> tuple:
    """(address, length) of a writable buffer, a CPU tensor, or a raw address with its size: what a transfer
    engine registers and moves bytes to and from."""
    if isinstance(buffer, int) and not isinstance(buffer, bool):
        if size is None or size < 0 or buffer <= 0:
            raise CrescentError(ErrorCode.INVALID_PARAMS, f"bad buffer address {buffer!r} / size {size!r}")
        return buffer, size
    view = byte_view(buffer, size, writable=True)
    if view.nbytes == 0:
        raise CrescentError(ErrorCode.INVALID_PARAMS, "empty buffer")
    return ctypes.addressof(ctypes.c_char.from_buffer(view)), view.nbytes
