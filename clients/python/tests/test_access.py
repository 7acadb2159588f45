"""The Python client against a server with access control on: its TCP transfers carry the master's tickets in the
transfer protocol's layout (64 bytes: range, issue stamp, expiry, MAC), and a ticket kept after its range was freed
and handed to another object is refused (the master's scrub revoked it)."""
import pytest

from conftest import CrescentServer
from crescent import CrescentStore, ErrorCode
from crescent._proto import master_pb2 as pb
from crescent.store import _location, _reads


@pytest.fixture(scope="module")
def guarded_address():
    server = CrescentServer("-Dcrescent.worker.segment-size=64M", "-Dcrescent.access.enabled=true",
                            "-Dcrescent.access.rules.local.cidrs=127.0.0.1/32,::1/128",
                            "-Dcrescent.access.rules.local.rights=read,write,admin")
    yield server.address
    server.stop()


@pytest.fixture
def tcp_store(guarded_address):
    s = CrescentStore()
    assert s.setup(guarded_address, protocol="tcp") == 0
    yield s
    s.close()


def test_ticketed_tcp_transfers_round_trip(tcp_store, key):
    value = bytes(range(256)) * 1024
    assert tcp_store.put(key + "v", value) == 0
    assert tcp_store.get(key + "v") == value
    assert tcp_store.batch_get([key + "v"]) == [value]


def test_a_kept_ticket_is_refused_once_its_range_went_to_another_object(tcp_store, key):
    assert tcp_store.put(key + "old", b"o" * 4096) == 0
    # A reader that keeps its replica (and ticket) and hands its lease back at once.
    location = _location(tcp_store._call("GetReplicaList", pb.GetReplicaListRequest(key=key + "old")))
    tcp_store._master.release(key + "old", location.lease_id)
    assert tcp_store.remove(key + "old", force=True) == 0
    # The range is scrubbed under a revoking ticket and handed out again: fill the pool's free space with new keys.
    for i in range(16):
        assert tcp_store.put(f"{key}new{i}", b"n" * 4096) == 0
    stale = bytearray(4096)
    errors = tcp_store._run(_reads(location.replicas[0], [(0, memoryview(stale))]))
    assert errors[0] is not None and errors[0].code == ErrorCode.PERMISSION_DENIED, errors
    assert bytes(stale) != b"n" * 4096
