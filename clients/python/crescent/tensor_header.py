"""A fixed-size header that describes the tensor stored after it in one object: shape, dtype and an optional
format number, as space-padded JSON. Fixed size, so a reader knows where the bytes start before parsing it; JSON,
so it stays readable and open to new fields."""
import json

import torch

HEADER_BYTES = 128


def encode(shape, dtype, fmt=None) -> bytes:
    fields = {"shape": list(shape), "dtype": str(dtype).removeprefix("torch.")}
    if fmt is not None:
        fields["fmt"] = int(getattr(fmt, "value", fmt))
    text = json.dumps(fields, separators=(",", ":")).encode()
    if len(text) > HEADER_BYTES:
        raise ValueError(f"tensor of {len(shape)} dimensions does not fit a {HEADER_BYTES}-byte header")
    return text.ljust(HEADER_BYTES)


def decode(stored) -> tuple:
    """(shape, dtype, fmt or None) from the first HEADER_BYTES of ``stored``; ValueError when it is not a header."""
    if len(stored) < HEADER_BYTES:
        raise ValueError("object shorter than a tensor header")
    try:
        fields = json.loads(bytes(stored[:HEADER_BYTES]).rstrip(b" "))
        dtype = getattr(torch, fields["dtype"], None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"unknown dtype {fields['dtype']!r}")
        return torch.Size(fields["shape"]), dtype, fields.get("fmt")
    except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"malformed tensor header: {e}") from None


def tensor_of(stored) -> torch.Tensor:
    """The tensor a header-prefixed object holds (a copy, owned by the caller)."""
    shape, dtype, _ = decode(stored)
    data = bytearray(memoryview(stored)[HEADER_BYTES:])
    if not data:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(data, dtype=dtype).reshape(shape)
