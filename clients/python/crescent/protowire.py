"""Just enough of protobuf's wire format to handle encoded messages in parts without parsing them: fields found as
views of the buffer a message arrived in (batch_answers.py), and fields encoded ahead of their payloads, which are then
sent from the caller's memory (master.trailing_bytes). A message is the concatenation of its fields in any order. And
the parse of a whole message from a view, which both use."""
from google.protobuf.message import DecodeError

LENGTH_DELIMITED = 2


def parsed(message_type, view: memoryview):
    """The message in ``view``; a protobuf runtime that parses only bytes gets a copy."""
    try:
        return message_type.FromString(view)
    except TypeError:
        return message_type.FromString(bytes(view))


def split(view: memoryview, number: int) -> tuple[list, list]:
    """The encoded message in ``view`` as the parts that are not field ``number`` and the payloads of that
    (length-delimited) field, all views of ``view``."""
    rest, found, kept_from, position, end = [], [], 0, 0, view.nbytes
    try:
        while position < end:
            field_start = position
            tag, position = read_varint(view, position)
            kind = tag & 7
            if kind == LENGTH_DELIMITED:
                length, position = read_varint(view, position)
                if tag >> 3 == number:
                    if field_start > kept_from:
                        rest.append(view[kept_from:field_start])
                    found.append(view[position:position + length])
                    kept_from = position + length
                position += length
            elif kind == 0:
                position = read_varint(view, position)[1]
            elif kind == 1:
                position += 8
            elif kind == 5:
                position += 4
            else:
                raise DecodeError(f"wire type {kind} at byte {field_start}")
    except IndexError:
        position = end + 1
    if position != end:
        raise DecodeError("message truncated")
    if kept_from < end:
        rest.append(view[kept_from:end])
    return rest, found


def read_varint(view: memoryview, position: int) -> tuple[int, int]:
    """The varint at ``position`` and the position after it (IndexError past the end)."""
    byte = view[position]
    if byte < 0x80:
        return byte, position + 1
    value, shift = byte & 0x7F, 7
    while True:
        position += 1
        byte = view[position]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position + 1
        shift += 7


def length_delimited(number: int, parts: list) -> list:
    """A length-delimited field of the given parts, as parts."""
    return [encoded_varint(number << 3 | LENGTH_DELIMITED) + encoded_varint(sum(len(p) for p in parts)), *parts]


def encoded_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
