"""Crescent's Python transfer engine between real processes: this test's engine and engine_peer.py processes, on this
host (cross-memory attach and TCP) and across a pair of network namespaces joined by a veth link (TCP between two
"hosts"), with the bytes checked on the other side."""
import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from child import Child
from crescent import CrescentStore, ErrorCode
from crescent.engine import METADATA_PREFIX, TransferEngine
from crescent.errors import CrescentError

PEER = str(Path(__file__).resolve().parent / "engine_peer.py")
MIB = 1 << 20


class Peer(Child):
    """An engine_peer.py process (optionally run inside a network namespace)."""

    def __init__(self, hostname="127.0.0.1", size=4 * MIB, fill=1, master=None, name=None, namespace=None):
        command = [sys.executable, PEER, hostname, str(size), str(fill)]
        if master:
            command += [master] + ([name] if name else [])
        if namespace:
            command = ["ip", "netns", "exec", namespace] + command
        super().__init__(command)
        ready = self.reply()
        self.session, self.address, self.name = ready["session"], ready["address"], ready["name"]
        self.size, self.fill = size, fill

    def digest(self):
        return self.ask(do="digest")["digest"]

    def slice(self, offset, length):
        return bytes.fromhex(self.ask(do="slice", offset=offset, length=length)["hex"])


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.stop()


@pytest.fixture(params=[True, False], ids=["local", "tcp"])
def engine(request):
    with TransferEngine(same_host=request.param) as e:
        yield e


def pattern(size, seed):
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)


def expected_digest(peer, changes):
    """The peer's buffer digest after writing each (offset, bytes) of ``changes`` over its fill."""
    content = np.full(peer.size, peer.fill, dtype=np.uint8)
    for offset, data in changes:
        content[offset:offset + len(data)] = data
    return hashlib.sha256(content.tobytes()).hexdigest()


def test_path_is_local_on_this_host_unless_tcp_is_asked(engine, peer):
    assert engine.path_to(peer.session) == ("local" if engine._same_host else "tcp")


def test_write_then_read_moves_the_bytes_between_processes(engine, peer):
    data = pattern(MIB + 123, 1)
    engine.write(peer.session, data, peer.address + 4097, data.nbytes)
    assert peer.slice(4097, data.nbytes) == data.tobytes()
    assert peer.digest() == expected_digest(peer, [(4097, data)])

    back = np.zeros(data.nbytes, dtype=np.uint8)
    engine.read(peer.session, back, peer.address + 4097)
    assert np.array_equal(back, data)


def test_batches_scatter_and_gather_by_address(engine, peer):
    """16 blocks to scattered peer addresses (over 8 MiB in all: the TCP path splits it over two connections),
    read back in reverse order into separate buffers."""
    size = 32 * MIB
    big = Peer(size=size, fill=3)
    try:
        blocks = [pattern(MIB - 7 * i, 10 + i) for i in range(16)]
        offsets = [i * 2 * MIB + i for i in range(16)]
        engine.batch_write(big.session, blocks, [big.address + o for o in offsets], [b.nbytes for b in blocks])
        assert big.digest() == expected_digest(big, list(zip(offsets, blocks)))

        backs = [np.zeros(b.nbytes, dtype=np.uint8) for b in blocks]
        future = engine.batch_read_async(big.session, backs[::-1], [big.address + o for o in offsets[::-1]])
        assert future.result(timeout=30) is None
        assert all(np.array_equal(b, back) for b, back in zip(blocks, backs))
    finally:
        big.stop()


def test_ranges_outside_the_peers_registration_are_refused_and_nothing_is_written(engine, peer):
    before = peer.digest()
    data = pattern(8192, 2)
    for remote in (peer.address + peer.size - 4096, peer.address - 4096, peer.address + 2 * peer.size):
        with pytest.raises(CrescentError) as refused:
            engine.write(peer.session, data, remote)
        assert refused.value.code == ErrorCode.INVALID_PARAMS
    with pytest.raises(CrescentError) as refused:
        engine.read(peer.session, np.zeros(8192, dtype=np.uint8), peer.address + peer.size - 1)
    assert refused.value.code == ErrorCode.INVALID_PARAMS
    # One bad range fails its batch before any byte of it moves (local), or alone (tcp); the good one is intact.
    assert peer.digest() == before
    engine.write(peer.session, data, peer.address)
    assert peer.slice(0, 8192) == data.tobytes()


def test_unregistered_memory_is_no_longer_served(engine, peer):
    engine.write(peer.session, pattern(64, 3), peer.address)
    assert peer.ask(do="unregister")["code"] == 0
    with pytest.raises(CrescentError) as refused:
        engine.write(peer.session, pattern(64, 4), peer.address)
    assert refused.value.code == ErrorCode.INVALID_PARAMS


def test_bad_arguments_and_unknown_peers_get_codes_not_hangs(engine, peer):
    with pytest.raises(CrescentError) as bad:
        engine.batch_write(peer.session, [pattern(8, 1)], [peer.address, peer.address + 8])
    assert bad.value.code == ErrorCode.INVALID_PARAMS
    with pytest.raises(CrescentError) as bad:
        engine.write(peer.session, 0, peer.address, 8)
    assert bad.value.code == ErrorCode.INVALID_PARAMS
    with pytest.raises(CrescentError) as unknown:
        engine.write("no-such-engine", pattern(8, 1), peer.address)
    assert unknown.value.code == ErrorCode.SEGMENT_NOT_FOUND
    closed = TransferEngine()
    gone = closed.session_id
    closed.close()
    with pytest.raises(CrescentError) as down:
        engine.write(gone, pattern(8, 1), peer.address)
    assert down.value.code == ErrorCode.TRANSFER_FAIL


def test_a_peer_that_restarts_is_described_again(engine):
    first = Peer(fill=5)
    engine.write(first.session, pattern(16, 1), first.address)
    first.stop()
    with pytest.raises(CrescentError):
        engine.write(first.session, pattern(16, 1), first.address)
    second = Peer(fill=6)
    try:
        data = pattern(4096, 7)
        engine.write(second.session, data, second.address)
        assert second.slice(0, 4096) == data.tobytes()
    finally:
        second.stop()


def test_peers_found_by_name_through_the_crescent_master(server_address, engine):
    name = f"te-{uuid.uuid4().hex[:8]}"
    named = Peer(master=server_address, name=name)
    store = CrescentStore()
    assert store.setup(server_address) == 0
    try:
        with TransferEngine(metadata=store) as finder:
            data = pattern(MIB, 8)
            finder.write(name, data, named.address)
            assert named.slice(0, MIB) == data.tobytes()
        assert store.is_exist(METADATA_PREFIX + name) == 1
        named.stop()
        assert store.is_exist(METADATA_PREFIX + name) == 0  # withdrawn when the engine closes
    finally:
        if named.process.poll() is None:
            named.stop()
        store.close()


@pytest.fixture
def two_hosts():
    """Two network namespaces joined by a veth pair, 10.x.y.1 and 10.x.y.2: "hosts" with separate network stacks
    (and separate abstract Unix sockets), so engines in them reach each other only over TCP."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    tag = uuid.uuid4().hex[:6]
    a, b = f"cte-a-{tag}", f"cte-b-{tag}"
    net = f"10.{int(tag[:2], 16) % 200 + 20}.{int(tag[2:4], 16)}"
    commands = [["ip", "netns", "add", a], ["ip", "netns", "add", b],
                ["ip", "link", "add", f"va{tag}", "netns", a, "type", "veth", "peer", "name", f"vb{tag}", "netns", b],
                ["ip", "-n", a, "addr", "add", f"{net}.1/24", "dev", f"va{tag}"],
                ["ip", "-n", b, "addr", "add", f"{net}.2/24", "dev", f"vb{tag}"],
                ["ip", "-n", a, "link", "set", f"va{tag}", "up"], ["ip", "-n", b, "link", "set", f"vb{tag}", "up"],
                ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"]]
    try:
        for command in commands:
            subprocess.run(command, check=True, capture_output=True)
        yield (a, f"{net}.1"), (b, f"{net}.2")
    finally:
        for namespace in (a, b):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


def test_engines_on_two_hosts_exchange_over_tcp(two_hosts):
    (ns_a, ip_a), (ns_b, ip_b) = two_hosts
    target = Peer(hostname=ip_a, namespace=ns_a, fill=9)
    initiator = Peer(hostname=ip_b, namespace=ns_b, fill=4)
    try:
        assert initiator.ask(do="path", target=target.session)["path"] == "tcp"
        reply = initiator.ask(do="write", target=target.session, offset=0, length=2 * MIB,
                              remote=target.address + MIB)
        assert reply == {"code": 0}
        assert target.slice(MIB, 2 * MIB) == bytes([4]) * (2 * MIB)
        assert target.digest() == expected_digest(target, [(MIB, np.full(2 * MIB, 4, dtype=np.uint8))])
        reply = initiator.ask(do="read", target=target.session, offset=0, length=MIB, remote=target.address)
        assert reply == {"code": 0}
        assert initiator.slice(0, MIB) == bytes([9]) * MIB
        refused = initiator.ask(do="write", target=target.session, offset=0, length=MIB,
                                remote=target.address + target.size)
        assert refused["code"] == ErrorCode.INVALID_PARAMS
    finally:
        target.stop()
        initiator.stop()



@pytest.mark.parametrize("copier", ["tcp request", "same-host peer"])
def test_unregister_waits_for_copies_in_flight(copier):
    """A TCP request holds its region (``using``) and a same-host peer holds the table file's shared lock while
    they copy: unregister returns only after the copy lets go, so memory freed after it is never written."""
    import fcntl
    import threading
    from contextlib import ExitStack
    from crescent.buffers import address_of
    from crescent.memory import RegisteredMemory
    memory = RegisteredMemory()
    buffer = bytearray(4096)
    address, _ = address_of(buffer)
    memory.register(address, 4096)
    table = os.open(memory.table_file, os.O_RDONLY)
    try:
        with ExitStack() as copying:
            if copier == "tcp request":
                copying.enter_context(memory.using(address, 64))
            else:
                fcntl.flock(table, fcntl.LOCK_SH)
                copying.callback(fcntl.flock, table, fcntl.LOCK_UN)
            done = threading.Event()
            threading.Thread(target=lambda: (memory.unregister(address), done.set()), daemon=True).start()
            assert not done.wait(0.3)  # a copy is in flight: unregister waits
            assert memory.regions() == [(address, 4096)]
        assert done.wait(5)
        assert memory.regions() == []
    finally:
        os.close(table)
        memory.close()


def test_region_tables_are_removed_on_close_and_when_their_process_is_gone():
    from crescent.memory import TABLE_DIRECTORY, RegisteredMemory
    dead = os.path.join(TABLE_DIRECTORY, "crescent-te-4194303-0000")  # above any pid in use (pid_max is 4194304)
    alive = os.path.join(TABLE_DIRECTORY, f"crescent-te-{os.getpid()}-0000")
    for path in (dead, alive):
        open(path, "wb").close()
    try:
        memory = RegisteredMemory()
        assert not os.path.exists(dead) and os.path.exists(alive)
        assert os.path.exists(memory.table_file)
        memory.close()
        assert not os.path.exists(memory.table_file)
    finally:
        for path in (dead, alive):
            if os.path.exists(path):
                os.unlink(path)


def test_connections_past_the_cap_are_turned_away_and_served_ones_keep_working(peer):
    import socket
    from crescent.engine_server import MAX_CONNECTIONS
    host, port = peer.session.rsplit(":", 1)
    held = [socket.create_connection((host, int(port))) for _ in range(MAX_CONNECTIONS)]
    try:
        extra = socket.create_connection((host, int(port)))
        extra.settimeout(10)
        assert extra.recv(1) == b""  # closed at once, no thread spent on it
        extra.close()
    finally:
        for conn in held:
            conn.close()
    with TransferEngine(same_host=False) as engine:  # the held ones gone, peers are served again
        data = pattern(4096, 11)
        for _ in range(50):
            try:
                engine.write(peer.session, data, peer.address)
                break
            except CrescentError:
                import time
                time.sleep(0.1)
        assert peer.slice(0, 4096) == data.tobytes()
