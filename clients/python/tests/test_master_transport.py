"""How the Python client reaches the master: the wire protocol when the master announces it, gRPC otherwise, and
the wire found again after the master restarts on another wire port."""
import os
import re
import socket
import time

import pytest

from crescent import CrescentStore, ErrorCode
from crescent import master, request_ring
from crescent._proto import master_pb2 as pb
from crescent.master import WIRE_METHODS

from conftest import REPO, CrescentServer


def test_wire_method_ids_match_the_java_protocol():
    source = (REPO / "src/main/java/dev/crescent/protocol/MasterWire.java").read_text()
    listed = source[source.index("METHODS = List.of("):source.index(");", source.index("METHODS = List.of("))]
    assert tuple(re.findall(r"get(\w+)Method\(\)", listed)) == WIRE_METHODS


def test_the_wire_is_chosen_when_the_master_announces_it(server_address, key):
    wire, grpc = CrescentStore(), CrescentStore()
    assert wire.setup(server_address) == 0 and grpc.setup(server_address, master_transport="grpc") == 0
    try:
        assert wire._master.transport_of() == "wire" and grpc._master.transport_of() == "grpc"
        assert wire.put(key + "x", b"over the wire") == 0
        assert grpc.get(key + "x") == b"over the wire"  # one master, whichever way it was called
        assert wire.get_size(key + "absent") == grpc.get_size(key + "absent") == ErrorCode.OBJECT_NOT_FOUND
    finally:
        wire.close()
        grpc.close()


def test_batched_reads_go_to_the_batch_port_the_master_announces(server_address, key):
    store = CrescentStore()
    assert store.setup(server_address, master_transport="wire") == 0
    try:
        names = [key + f"b{i}" for i in range(3)]
        for name in names:
            assert store.put(name, name.encode()) == 0
        assert store.batch_get(names) == [name.encode() for name in names]
        assert store.batch_is_exist(names + [key + "absent"]) == [1, 1, 1, 0]
        assert store.is_exist(names[0]) == 1  # puts may have gone through a ring: a single call over a socket
        channel = store._master._channel(0)
        assert channel._batch_port is not None and channel._batch_port != channel._port
        assert [c.socket.getpeername()[1] for c in channel._idle_batch] == [channel._batch_port]
        assert {c.socket.getpeername()[1] for c in channel._idle} == {channel._direct_port}, "single calls stay"
    finally:
        store.close()


def test_a_master_that_announces_no_batch_port_gets_batched_reads_on_its_one_port(server_address, key, monkeypatch):
    announced = master._announced_wire_ports
    monkeypatch.setattr(master, "_announced_wire_ports", lambda *args: (announced(*args)[0], None, None, 0))
    store = CrescentStore()
    assert store.setup(server_address, master_transport="wire") == 0
    try:
        assert store.put(key + "one", b"1") == 0
        assert store.batch_get([key + "one"]) == [b"1"]
        assert store.is_exist(key + "one") == 1
        store._master._releases.send_now()  # the get's lease release goes now, not from its thread while we look
        channel = store._master._channel(0)
        assert not channel._idle_batch
        # A set: the release thread may have sent on a second connection while the exists call held the first.
        assert {c.socket.getpeername()[1] for c in channel._idle} == {channel._port}
    finally:
        store.close()


def test_single_calls_use_the_direct_listener_and_go_to_the_event_loops_when_it_is_full(key):
    server = CrescentServer("-Dcrescent.master.wire-threads=1", "-Dcrescent.worker.segment-size=64M")
    held = None
    try:
        store = CrescentStore()
        assert store.setup(server.address, master_transport="wire", protocol="tcp") == 0
        try:
            assert store.put(key + "direct", b"served by a thread") == 0
            channel = store._master._channel(0)
            assert channel._direct_port is not None and channel._direct_port != channel._port
            assert {c.socket.getpeername()[1] for c in channel._idle} == {channel._direct_port}
        finally:
            store.close()
        # Its one slot frees once that connection's thread saw it close; then this connection holds it.
        deadline = time.monotonic() + 5
        while held is None:
            probe = socket.create_connection(("localhost", channel._direct_port), timeout=10)
            if probe.recv(1) == bytes([master._DIRECT_SERVED]):
                held = probe
            else:
                probe.close()
                assert time.monotonic() < deadline, "the direct listener's slot never freed"
                time.sleep(0.05)
        store = CrescentStore()
        assert store.setup(server.address, master_transport="wire", protocol="tcp") == 0
        try:
            assert store.get(key + "direct") == b"served by a thread"
            channel = store._master._channel(0)
            assert {c.socket.getpeername()[1] for c in channel._idle} == {channel._port}, "full: the event loops"
        finally:
            store.close()
    finally:
        if held is not None:
            held.close()
        server.stop()


def test_an_unreadable_answer_is_a_clear_error_and_the_next_answer_reads(server_address, key):
    store = CrescentStore()
    assert store.setup(server_address) == 0
    try:
        assert store.put(key + "ok", b"fine") == 0
        real = master.parsed
        master.parsed = lambda message_type, view: real(message_type, memoryview(b"\xff\xff\xff"))
        try:
            assert store.get_size(key + "ok") == ErrorCode.INTERNAL_ERROR
        finally:
            master.parsed = real
        assert store.get(key + "ok") == b"fine", "the connection that read the frame whole serves the next call"
    finally:
        store.close()


def test_a_reader_that_fails_gets_its_error_and_the_connection_serves_the_next_call(server_address, key):
    store = CrescentStore()
    assert store.setup(server_address, master_transport="wire") == 0
    try:
        assert store.put(key + "ok", b"fine") == 0
        channel = store._master._channel(0)
        idle = list(channel._idle)

        def failing(answer):
            raise ZeroDivisionError("the reader's own failure")
        with pytest.raises(ZeroDivisionError):
            store._master.call("Exist", pb.KeyRequest(key=key + "ok"), read=failing)
        assert list(channel._idle) == idle, "the connection that read the frame whole went back to the pool"
        assert store._master.call("Exist", pb.KeyRequest(key=key + "ok"), read=lambda answer: bytes(answer)) \
            == pb.ExistResponse(exists=True).SerializeToString()
        assert store.get(key + "ok") == b"fine"
    finally:
        store.close()


def test_bad_transport_names_are_refused(server_address):
    assert CrescentStore().setup(server_address, master_transport="carrier-pigeon") == ErrorCode.INVALID_PARAMS


@pytest.fixture(scope="module")
def master_without_wire():
    server = CrescentServer("-Dcrescent.master.wire=false", "-Dcrescent.worker.segment-size=64M")
    yield server.address
    server.stop()


def test_a_master_without_the_wire_is_called_over_grpc(master_without_wire, key):
    store = CrescentStore()
    assert store.setup(master_without_wire) == 0
    try:
        assert store._master.transport_of() == "grpc"
        assert store.put(key + "g", b"grpc") == 0 and store.get(key + "g") == b"grpc"
    finally:
        store.close()
    assert CrescentStore().setup(master_without_wire, master_transport="wire", failover_window=0.5) == \
        ErrorCode.INVALID_PARAMS


def test_a_restarted_master_is_found_again_on_its_new_wire_port(key):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = CrescentServer(f"-Dquarkus.http.port={port}", "-Dcrescent.worker.segment-size=64M")
    store = CrescentStore()
    try:
        assert store.setup(f"localhost:{port}", failover_window=60) == 0
        assert store.put(key + "before", b"1") == 0
        channel_before = store._master._channels[0]
        first.stop()
        second = CrescentServer(f"-Dquarkus.http.port={port}", "-Dcrescent.worker.segment-size=64M")
        try:
            assert store.put(key + "after", b"2") == 0  # the failed connection sends the client to ask again
            assert store._master.transport_of() == "wire" and store._master._channels[0] is not channel_before
            assert store.get(key + "after") == b"2"
        finally:
            second.stop()
    finally:
        store.close()
        first.stop()


def test_puts_on_the_masters_host_go_through_a_request_ring(server_address, key):
    if not request_ring.available():
        pytest.skip("request rings need futexes (Linux on x86-64)")
    if os.environ.get("CRESCENT_RUNNER"):
        pytest.skip("a native executable built with this project's toolchain makes no downcalls: it offers no rings")
    ringed, over_tcp = CrescentStore(), CrescentStore()
    assert ringed.setup(server_address) == 0 and over_tcp.setup(server_address, protocol="tcp") == 0
    try:
        values = {key + "small": b"s" * 4096, key + "large": bytes(range(256)) * 256}
        for name, value in values.items():
            assert ringed.put(name, value) == 0
            assert ringed.put(name + "-again", value) == 0  # the second of a size goes into space granted ahead
        ring = ringed._master._channel(0)._ring
        assert ring is not None and not ring.broken
        # Every put start but the first 64 KiB one, whose bytes travel with it and do not fit a slot (16 KiB).
        assert ring.calls == 3
        for name, value in values.items():
            assert over_tcp.get(name) == value and over_tcp.get(name + "-again") == value
        assert over_tcp.put(key + "tcp", b"t" * 4096) == 0
        assert over_tcp._master._channel(0)._ring is None, "a client that maps no shared memory calls over its socket"
    finally:
        ringed.close()
        over_tcp.close()


def test_ring_callers_that_do_not_yield_sleep_until_answered(server_address, key):
    if not request_ring.available():
        pytest.skip("request rings need futexes (Linux on x86-64)")
    if os.environ.get("CRESCENT_RUNNER"):
        pytest.skip("a native executable built with this project's toolchain makes no downcalls: it offers no rings")
    store = CrescentStore()
    assert store.setup(server_address) == 0
    try:
        assert store.put(key + "first", b"f" * 4096) == 0  # opens the ring
        ring = store._master._channel(0)._ring
        assert ring is not None
        yields = []
        ring._yielding.yield_once = lambda: yields.append(1) or False  # as beside a busy process: off
        for n in range(20):
            assert store.put(f"{key}slept-{n}", bytes([n]) * 4096) == 0
        assert ring.calls == 21 and not ring.broken
        assert len(yields) <= 20, "asked at most once per call, then slept"
        assert all(store.get(f"{key}slept-{n}") == bytes([n]) * 4096 for n in range(20))
    finally:
        store.close()


def test_a_ring_the_master_refuses_leaves_calls_on_the_socket(server_address, key, monkeypatch):
    if not request_ring.available():
        pytest.skip("request rings need futexes (Linux on x86-64)")
    monkeypatch.setattr(request_ring, "host_id", lambda: "another-host")
    store = CrescentStore()
    assert store.setup(server_address) == 0
    try:
        assert store.put(key + "refused", b"r" * 4096) == 0
        channel = store._master._channel(0)
        assert channel._ring is None
        assert channel._no_ring_until > time.monotonic() + 30, "not asked again for a while"
        assert store.get(key + "refused") == b"r" * 4096
    finally:
        store.close()
