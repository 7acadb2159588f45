"""Small objects in one master call (issue 20): a put start that carries its bytes, a replica list that answers
them. Against the real server of the session (standalone: its master reaches the worker's segment in memory)."""
import contextlib

import numpy as np

from conftest import wait_until

from crescent import CrescentStore, ErrorCode, master
from crescent.store import DEFAULT_INLINE_BYTES


def _recording(store):
    """The master calls the store makes from now on, by method name (the calls themselves go through)."""
    calls = []
    real = store._master.call

    def call(method, request, *rest):
        calls.append(method)
        return real(method, request, *rest)

    store._master.call = call
    return calls


@contextlib.contextmanager
def _tcp_store(server_address, **options):
    """A store that moves bytes over TCP, closed when the block ends."""
    tcp = CrescentStore()
    assert tcp.setup(server_address, protocol="tcp", **options) == 0
    try:
        yield tcp
    finally:
        tcp.close()


def test_a_small_put_is_one_master_call(store, key):
    calls = _recording(store)
    value = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert store.put(key + "small", value) == 0
    assert calls == ["PutStart"]
    assert store.get(key + "small") == value


def test_a_small_get_over_tcp_is_one_master_call_and_opens_no_transfer_connection(server_address, key):
    with _tcp_store(server_address) as tcp:
        value = bytes(range(256)) * 16
        assert tcp.put(key + "small", value) == 0
        calls = _recording(tcp)
        assert tcp.get(key + "small") == value
        target = bytearray(8192)
        assert tcp.get_into(key + "small", target) == len(value)
        assert bytes(target[:len(value)]) == value
        assert calls == ["GetReplicaList", "GetReplicaList"]
        assert tcp.put(key + "other", b"o" * 100) == 0
        calls.clear()
        assert tcp.batch_get([key + "small", key + "other", key + "missing"]) == [value, b"o" * 100, b""]
        assert tcp.batch_get_into([key + "small"], [bytearray(10)]) == [ErrorCode.INVALID_PARAMS]
        assert calls[0] == "BatchGetReplicaList"
        assert not tcp._tcp._idle, "no transfer connection was opened"


def test_values_of_16_kib_and_more_come_back_whole_from_their_segment(server_address, key):
    # A single get's value of 16 KiB or more is sent by the master from its segment as it is (InPlaceAnswer, behind
    # a frame head of its own), not copied into the answer first: each must arrive whole, in the one call.
    with _tcp_store(server_address) as tcp:
        sizes = (16 << 10, 40_000, DEFAULT_INLINE_BYTES)
        values = {size: np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes() for size in sizes}
        for size, value in values.items():
            assert tcp.put(key + str(size), value) == 0
        calls = _recording(tcp)
        for _ in range(3):
            for size, value in values.items():
                assert tcp.get(key + str(size)) == value
        assert calls == ["GetReplicaList"] * 9
        assert not tcp._tcp._idle, "no transfer connection was opened"


def test_a_reader_that_maps_the_replica_on_its_host_gets_the_replica_not_the_bytes(server_address, key):
    shm = CrescentStore()
    assert shm.setup(server_address, protocol="auto") == 0
    try:
        assert shm.put(key + "near", b"n" * 4096) == 0
        location = shm._locate(key + "near", DEFAULT_INLINE_BYTES)
        shm._release(key + "near", location)
        assert location.value is None and location.replicas, "its own memory copy beats bytes on a socket"
        assert shm.get(key + "near") == b"n" * 4096
    finally:
        shm.close()


def test_a_batch_of_small_puts_is_one_master_call_and_larger_keys_end_as_before(store, key, request):
    # Over tcp with the wire protocol the master streams the large key's bytes into place too (issue 20, fortieth
    # round); over shared memory the store copies them itself, and over gRPC they are not streamed.
    streamed = request.node.callspec.params["store"] == ("tcp", "auto")
    calls = _recording(store)
    small = [bytes([i]) * (1000 + i) for i in range(3)]
    assert store.batch_put([key + "b0", key + "b1", key + "b2"], small) == [0, 0, 0]
    assert calls == ["BatchPutStart"]
    calls.clear()
    large = b"L" * (DEFAULT_INLINE_BYTES + 1)
    assert store.batch_put([key + "bl", key + "b0", key + "b3"], [large, b"x" * 10, b"y" * 20]) == [
        0, ErrorCode.OBJECT_ALREADY_EXISTS, 0]
    assert calls == ["BatchPutStart"] + ([] if streamed else ["BatchPutEnd"]), "only the large key could be ended"
    assert store.batch_get([key + "b0", key + "b1", key + "b2", key + "bl", key + "b3"]) == small + [large, b"y" * 20]
    assert store.batch_upsert_from([key + "b1"], [bytearray(b"z" * 1001)]) == [0]
    assert store.get(key + "b1") == b"z" * 1001


def test_a_batch_of_more_values_than_one_sendmsg_takes_arrives_whole(store, key):
    # Inline values go from the caller's memory as two buffers each (tag and length, then the bytes): 1500 of them
    # pass the kernel's 1024 buffers per sendmsg, so the frame goes out in several calls.
    names = [f"{key}many{i}" for i in range(1500)]
    values = [bytes([i % 251]) * (50 + i % 7) for i in range(1500)]
    assert store.batch_put(names, values) == [0] * 1500
    assert store.batch_get(names) == values


def test_answers_read_into_a_kept_buffer_never_mix(store, key):
    # A batch answer of about 1 MiB grows the connection's buffer, which later answers, small and large, reuse.
    names = [f"{key}kept{i}" for i in range(16)]
    first = [bytes([i]) * (64 << 10) for i in range(16)]
    assert store.batch_put(names, first) == [0] * 16
    assert store.batch_get(names) == first
    assert store.put(key + "small", b"s" * 10) == 0
    assert store.get(key + "small") == b"s" * 10
    second = [bytes([100 + i]) * (64 << 10) for i in range(8)]
    assert store.batch_upsert_from(names[:8], [bytearray(v) for v in second]) == [0] * 8
    assert store.batch_get(names[::-1]) == (second + first[8:])[::-1]
    assert store.get(key + "small") == b"s" * 10


def test_objects_over_the_limit_end_their_puts_and_read_replicas(store, key):
    calls = _recording(store)
    value = bytes(range(256)) * (DEFAULT_INLINE_BYTES // 256) + b"!"
    assert store.put(key + "large", value) == 0
    # Over tcp and the wire protocol the standalone master reads the bytes into place with the put start (below);
    # a store that maps the segment copies them itself, and one whose master calls go over gRPC writes its replicas.
    streamed = store._spaces is None and store._master.transport_of() == "wire"
    assert calls == (["PutStart"] if streamed else ["PutStart", "PutEnd"])
    assert store.get(key + "large") == value
    assert store.get_into(key + "large", bytearray(100)) == ErrorCode.INVALID_PARAMS


def test_parts_travel_back_to_back_and_come_back_split(store, key):
    assert store.put_parts(key + "kv", b"K" * 1000, b"V" * 3000) == 0
    k, v = bytearray(1000), bytearray(3000)
    assert store.get_into_parts(key + "kv", k, v) == 4000
    assert bytes(k) == b"K" * 1000 and bytes(v) == b"V" * 3000


def test_upserts_and_first_writer_wins_hold_inline(store, key):
    assert store.put(key + "u", b"a" * 100) == 0
    assert store.put(key + "u", b"b" * 100) == ErrorCode.OBJECT_ALREADY_EXISTS
    assert store.upsert(key + "u", b"c" * 100) == 0
    assert store.get(key + "u") == b"c" * 100
    assert store.upsert(key + "u", b"d" * 5000) == 0
    assert store.get(key + "u") == b"d" * 5000
    assert wait_until(lambda: store.remove(key + "u") == 0, timeout=2.0)
    assert store.get_into(key + "u", bytearray(10)) == ErrorCode.OBJECT_NOT_FOUND


def test_a_store_without_inline_values_shares_objects_with_one_that_has_them(server_address, store, key):
    direct = CrescentStore()
    assert direct.setup(server_address, inline_bytes=0) == 0
    try:
        calls = _recording(direct)
        assert direct.put(key + "direct", b"x" * 3000) == 0
        assert calls == ["PutStart", "PutEnd"]
        assert store.put(key + "inline", b"y" * 3000) == 0
        assert store.get(key + "direct") == b"x" * 3000
        assert direct.get(key + "inline") == b"y" * 3000
    finally:
        direct.close()


def test_a_large_put_over_tcp_is_one_call_its_bytes_read_into_place(server_address, key):
    # A standalone master announces streamed-put-bytes: past the inline limit, the put start carries the value and the
    # master reads it from the socket into the placed object, committing it in that call (issue 20, thirty-ninth round).
    with _tcp_store(server_address) as tcp:
        calls = _recording(tcp)
        value = np.random.default_rng(2).integers(0, 256, 2 << 20, dtype=np.uint8).tobytes()
        assert tcp.put(key + "big", value) == 0, "a new store's first call"
        assert calls == ["PutStart"]
        assert tcp.get(key + "big") == value
        calls.clear()
        assert tcp.put(key + "big", b"x" * (2 << 20)) == ErrorCode.OBJECT_ALREADY_EXISTS
        assert calls == ["PutStart"], "refused with its value skipped"
        assert tcp.get(key + "big") == value, "the refused put left the object as it was, and the connection reads on"
        other = value[::-1]
        calls.clear()
        assert tcp.upsert(key + "big", other) == 0
        assert tcp.put_parts(key + "parts", value[: 1 << 20], other[: 3 << 19]) == 0
        assert calls == ["PutStart", "PutStart"], "parts go back to back in one value"
        assert tcp.get(key + "big") == other
        assert tcp.get(key + "parts") == value[: 1 << 20] + other[: 3 << 19]


def test_a_batch_of_large_puts_over_tcp_is_one_call_its_values_read_as_they_arrive(server_address, key):
    # Past the inline limit, a batch's values go with its put start too when the master streams them and they come to
    # 4 MiB at most, after the rest of the request (values_last): the master reads each from the socket into its
    # object and commits it in that call (issue 20, fortieth round).
    with _tcp_store(server_address) as tcp:
        calls = _recording(tcp)
        rng = np.random.default_rng(3)
        values = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (1 << 20, 300 << 10, 5000)]
        names = [f"{key}bb{i}" for i in range(3)]
        assert tcp.batch_put(names, values) == [0, 0, 0], "a new store's first call"
        assert calls == ["BatchPutStart"]
        assert tcp.batch_get(names) == values
        calls.clear()
        assert tcp.batch_put([names[0], key + "bb3"], [b"x" * (1 << 20), values[1]]) == [
            ErrorCode.OBJECT_ALREADY_EXISTS, 0]
        assert calls == ["BatchPutStart"], "the refused key's value skipped, the next one read"
        assert tcp.get(names[0]) == values[0], "the first writer's bytes"
        assert tcp.get(key + "bb3") == values[1]
        calls.clear()
        big = b"B" * (2 << 20)  # 6 MiB of large values, past the call's 4 MiB: the client writes them all
        over = [f"{key}over{i}" for i in range(3)]
        assert tcp.batch_put(over, [big] * 3) == [0] * 3
        assert calls == ["BatchPutStart", "BatchPutEnd"]
        assert tcp.batch_get(over) == [big] * 3


def test_a_large_put_writes_its_replicas_without_streaming_over_grpc_or_with_inline_values_off(server_address, key):
    value = b"g" * (1 << 20)
    for options in ({"master_transport": "grpc"}, {"inline_bytes": 0}):
        with _tcp_store(server_address, **options) as tcp:
            calls = _recording(tcp)
            name = key + "-".join(options)
            assert tcp.put(name, value) == 0
            assert tcp.batch_put([name + "b"], [value]) == [0]
            assert calls == ["PutStart", "PutEnd", "BatchPutStart", "BatchPutEnd"], options
            assert tcp.get(name) == value
            assert tcp.get(name + "b") == value


def test_a_master_that_announces_no_streaming_gets_three_call_puts(server_address, key, monkeypatch):
    # A master that predates streamed puts announces no streamed-put-bytes: the client writes the replicas itself.
    announced = master._announced_wire_ports
    monkeypatch.setattr(master, "_announced_wire_ports", lambda *args: announced(*args)[:3] + (0,))
    with _tcp_store(server_address) as tcp:
        calls = _recording(tcp)
        value = b"o" * (1 << 20)
        assert tcp.put(key + "old", value) == 0
        assert tcp.batch_put([key + "old-b"], [value]) == [0]
        assert calls == ["PutStart", "PutEnd", "BatchPutStart", "BatchPutEnd"]
        assert tcp.get(key + "old") == value
        assert tcp.get(key + "old-b") == value
