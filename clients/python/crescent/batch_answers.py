"""A batch get's answer read with its values left where they arrived.

The protobuf runtime makes a fresh bytes object of every value it parses. For a batch of large values that is a
megabyte or so of fresh memory per answer, which glibc may give back to the kernel when the answer is dropped and take
again, a page fault per 4 KiB, on the next: 16 values of 64 KiB read over TCP at 5.8-6.0k keys/s from a bench thread
(the main thread of a script: 18-25k). Here the answer is split by hand, just enough of protobuf's wire format to
find each item's ``location.value``: the values stay views of the buffer the answer was read into, and are copied into
the caller's buffers before that buffer serves another call (store._batch_locate); the runtime parses the rest, a few
dozen bytes per item. That ran 20-25k keys/s in the same thread.

The split costs Python about 4 us per key, more than the runtime's whole parse of a small value, and the runtime's
collapse depends on the allocator's state: measured one thread, 16 keys per batch, runtime against split, 32 KiB
values 50-54k against 28-30k keys/s, 48 KiB 6.4-9.1k against 28-35k, 63 KiB 6.2-8.4k against 29-33k. So only answers
whose values average ``VIEWS_FROM`` bytes per key or more are split.
"""
from ._proto import master_pb2 as pb
from .protowire import length_delimited, parsed, split

# Answers of at least this many bytes per key are split by hand (see above: between 32 KiB, where the runtime was
# faster, and 48 KiB, where it was not).
VIEWS_FROM = 40 << 10

_ITEMS = pb.BatchGetReplicaListResponse.DESCRIPTOR.fields_by_name["items"].number
_LOCATION = pb.BatchGetReplicaListItem.DESCRIPTOR.fields_by_name["location"].number
_VALUE = pb.GetReplicaListResponse.DESCRIPTOR.fields_by_name["value"].number


def batch_get_items(answer: memoryview, keys: int) -> tuple[list, list]:
    """The answer's items (BatchGetReplicaListItem) and, parallel to them, each item's value as a view of ``answer``
    (None: not split out; the item's own ``location.value`` holds it, or it has none). Raises DecodeError when the
    bytes are not such an answer."""
    if answer.nbytes < VIEWS_FROM * max(1, keys):
        items = parsed(pb.BatchGetReplicaListResponse, answer).items
        return items, [None] * len(items)
    parts, values = [], []
    for item in split(answer, _ITEMS)[1]:
        rest, locations = split(item, _LOCATION)
        value = None
        for location in locations:  # one, from Crescent's master; a message field given twice is merged
            location, found = split(location, _VALUE)
            if found:  # a bytes field given twice: the last counts
                value = found[-1] if found[-1].nbytes else None
            rest += length_delimited(_LOCATION, location)
        values.append(value)
        parts += length_delimited(_ITEMS, rest)
    return pb.BatchGetReplicaListResponse.FromString(b"".join(parts)).items, values
