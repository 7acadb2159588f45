"""Batch get answers read with their values left in the buffer they arrived in (batch_answers.py): the split by hand
against answers the protobuf runtime encodes, then batches over TCP against the session's real server, over the wire
protocol and over gRPC."""
import numpy as np
import pytest
from google.protobuf.message import DecodeError

from crescent import CrescentStore, ErrorCode, batch_answers, store as store_module
from crescent._proto import master_pb2 as pb
from crescent.protowire import split


def _answer(values, statuses=None):
    answer = pb.BatchGetReplicaListResponse()
    for n, value in enumerate(values):
        item = answer.items.add()
        item.status.key = f"k{n}"
        if statuses and statuses[n]:
            item.status.code = statuses[n]
            continue
        item.location.size = len(value)
        item.location.lease_deadline_ms = 1_700_000_000_000 + n
        item.location.crc32c = 7 + n
        item.location.lease_id = 2**63 + n
        item.location.value = value
        item.location.version = 99 + n
    return answer


def test_large_values_are_views_of_the_answer_and_the_rest_parses_as_the_runtime_would():
    values = [bytes([n]) * (64 << 10) for n in range(4)] + [b""]
    expected = _answer(values)
    expected.items.add().status.code = ErrorCode.OBJECT_NOT_FOUND  # a key without location
    buffer = bytearray(expected.SerializeToString())
    items, found = batch_answers.batch_get_items(memoryview(buffer), 6)
    assert [bytes(v) for v in found[:4]] == values[:4]
    assert all(v.obj is buffer for v in found[:4]), "views of the answer's buffer, not copies"
    assert found[4:] == [None, None]
    for item in expected.items[:5]:
        item.location.ClearField("value")
    assert list(items) == list(expected.items)


def test_values_averaging_under_the_threshold_go_to_the_runtime_whole():
    answer = _answer([b"s" * 100, b"t" * 200])
    items, found = batch_answers.batch_get_items(memoryview(answer.SerializeToString()), 2)
    assert found == [None, None]
    assert list(items) == list(answer.items)


def test_a_location_given_twice_is_merged_and_its_last_value_counts():
    first = pb.BatchGetReplicaListItem(location=pb.GetReplicaListResponse(size=5, value=b"x" * (64 << 10)))
    second = pb.BatchGetReplicaListItem(location=pb.GetReplicaListResponse(version=3, value=b"y" * (64 << 10)))
    encoded = first.SerializeToString() + second.SerializeToString()  # one item whose location comes twice
    answer = b"\x0a" + _varint(len(encoded)) + encoded
    items, found = batch_answers.batch_get_items(memoryview(answer), 1)
    assert (items[0].location.size, items[0].location.version, items[0].location.value) == (5, 3, b"")
    assert bytes(found[0]) == b"y" * (64 << 10)


@pytest.mark.parametrize("cut", [1, 3, 100, 70_000])
def test_a_truncated_answer_is_a_decode_error(cut):
    encoded = _answer([b"v" * (64 << 10)] * 2).SerializeToString()
    with pytest.raises(DecodeError):
        batch_answers.batch_get_items(memoryview(encoded[:-cut]), 1)


def test_fields_of_every_wire_type_are_stepped_over():
    message = pb.GetReplicaListResponse(size=300, lease_deadline_ms=-1, crc32c=5, lease_id=9, value=b"v", version=2)
    message.replicas.add(segment="s", offset=1)
    rest, found = split(memoryview(message.SerializeToString()), 6)
    assert [bytes(v) for v in found] == [b"v"]
    message.ClearField("value")
    assert pb.GetReplicaListResponse.FromString(b"".join(rest)) == message
    with pytest.raises(DecodeError):
        split(memoryview(b"\x0b\x00"), 6)  # a group start: no message of Crescent's has one


def _varint(value):
    from crescent.protowire import encoded_varint
    return encoded_varint(value)


@pytest.mark.parametrize("master_transport", ["wire", "grpc"])
def test_a_batch_of_64_kib_values_over_tcp_is_copied_from_the_answer_into_the_buffers(
        server_address, key, master_transport, monkeypatch):
    tcp = CrescentStore()
    assert tcp.setup(server_address, protocol="tcp", master_transport=master_transport) == 0
    seen = []
    real = store_module.batch_get_items

    def spied(answer, keys):
        items, values = real(answer, keys)
        seen.append([type(v).__name__ for v in values])
        return items, values
    monkeypatch.setattr(store_module, "batch_get_items", spied)
    try:
        rng = np.random.default_rng(3)
        names = [f"{key}v{n}" for n in range(16)]
        values = [rng.integers(0, 256, 64 << 10, dtype=np.uint8) for _ in names]
        assert tcp.batch_put_from(names, values) == [0] * 16
        large = rng.integers(0, 256, (64 << 10) + 1, dtype=np.uint8)  # over the inline limit: read from its replica
        assert tcp.put_from(key + "large", large) == 0
        for _ in range(2):  # the second answer reuses the buffer the first was read into
            targets = [np.zeros(64 << 10, dtype=np.uint8) for _ in names]
            assert tcp.batch_get_into(names, targets) == [64 << 10] * 16
            assert all(np.array_equal(t, v) for t, v in zip(targets, values))
        assert seen[-1] == ["memoryview"] * 16
        # Values average over VIEWS_FROM per key: the answer is split.
        mixed = [names[0], key + "missing", names[1], key + "large", names[2], names[3]]
        targets = [np.zeros(len(large), dtype=np.uint8) for _ in mixed]
        targets[2] = np.zeros(100, dtype=np.uint8)
        assert tcp.batch_get_into(mixed, targets) == [
            64 << 10, ErrorCode.OBJECT_NOT_FOUND, ErrorCode.INVALID_PARAMS, len(large), 64 << 10, 64 << 10]
        assert np.array_equal(targets[0][:64 << 10], values[0]) and np.array_equal(targets[3], large)
        assert np.array_equal(targets[4][:64 << 10], values[2])
        assert seen[-1] == ["memoryview", "NoneType", "memoryview", "NoneType", "memoryview", "memoryview"]
    finally:
        tcp.close()
