"""Crescent's KV events as vLLM's KV-event consumers read them: a real Crescent server publishing over ZeroMQ, a
subscriber that decodes with vLLM's types (tests/engines/vllm/distributed/kv_events.py, vLLM 0181ea31) and follows
its publisher's protocol: topic, 8-byte big-endian sequence, msgpack KVEventBatch; replays asked of the ROUTER
socket by first sequence.

vLLM's example subscriber asks for replays on a REQ socket; a REQ socket takes one reply per request while the
publisher sends one per batch, so this subscriber speaks the same frames over DEALER (empty delimiter first), as
routers that consume these events do.
"""
import socket
import time

import pytest

zmq = pytest.importorskip("zmq")

from conftest import CrescentServer  # noqa: E402
from crescent import CrescentStore  # noqa: E402
from vllm.distributed import kv_events  # noqa: E402

TOPIC = b"kv-events"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def publisher():
    pub_port, replay_port = _free_port(), _free_port()
    server = CrescentServer(
        "-Dcrescent.worker.segment-size=64M",
        f"-Dcrescent.events.zmq.endpoint=tcp://*:{pub_port}",
        f"-Dcrescent.events.zmq.replay-endpoint=tcp://*:{replay_port}",
        f"-Dcrescent.events.zmq.topic={TOPIC.decode()}",
    )
    yield server, f"tcp://127.0.0.1:{pub_port}", f"tcp://127.0.0.1:{replay_port}"
    server.stop()


@pytest.fixture
def context():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def _subscribe(context, endpoint, server, key):
    """A SUB socket that is known to receive: puts a probe until its event arrives (a PUB drops what is sent
    before a subscription reaches it)."""
    sub = context.socket(zmq.SUB)
    sub.connect(endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, TOPIC)
    store = CrescentStore()
    assert store.setup(server.address) == 0
    probe = key + "probe"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        store.remove(probe)
        assert store.put(probe, b"p") == 0
        if sub.poll(300):
            _drain(sub, 1.0)
            return sub, store
    raise AssertionError("no event reached the subscriber")


def _drain(sub, seconds):
    messages = []
    while sub.poll(int(seconds * 1000)):
        topic, seq, payload = sub.recv_multipart()
        messages.append((topic, int.from_bytes(seq, "big"), kv_events.decode(payload)))
        seconds = 0.3
    return messages


def _blocks(messages):
    """(kind, key, medium) of every event, in order."""
    out = []
    for _, _, batch in messages:
        for event in batch.events:
            assert len(event.block_hashes) == 1
            out.append((type(event).__name__, event.block_hashes[0].decode(), event.medium))
    return out


def test_puts_and_removes_arrive_as_vllm_block_events_in_sequence(publisher, context, key):
    server, endpoint, _ = publisher
    sub, store = _subscribe(context, endpoint, server, key)
    assert store.put(key + "a", b"x" * 5000) == 0
    assert store.put(key + "b", b"y" * 100) == 0
    assert store.remove(key + "a") == 0
    messages = _drain(sub, 5.0)
    ours = [b for b in _blocks(messages) if b[1].startswith(key) and not b[1].endswith("probe")]
    assert ours == [("BlockStored", key + "a", "CRESCENT"), ("BlockStored", key + "b", "CRESCENT"),
                    ("BlockRemoved", key + "a", "CRESCENT")]
    assert all(topic == TOPIC for topic, _, _ in messages)
    sequences = [seq for _, seq, _ in messages]
    assert sequences == sorted(set(sequences)), "sequence numbers only grow"
    for _, _, batch in messages:
        assert abs(batch.ts - time.time()) < 60 and batch.data_parallel_rank == 0
        stored = [e for e in batch.events if isinstance(e, kv_events.BlockStored)]
        for event in stored:
            assert event.parent_block_hash is None and event.token_ids == [] and event.block_size == 0
    store.close()


def test_a_subscriber_that_missed_batches_gets_them_from_the_replay_socket(publisher, context, key):
    server, endpoint, replay_endpoint = publisher
    sub, store = _subscribe(context, endpoint, server, key)
    for i in range(5):
        assert store.put(f"{key}r{i}", b"z" * 10) == 0
    live = [m for m in _drain(sub, 5.0) if any(e.block_hashes[0].decode().startswith(key + "r")
                                                for e in m[2].events)]
    assert len(live) == 5
    first_missed = live[1][1]  # pretend the 2nd..5th never arrived

    replay = context.socket(zmq.DEALER)
    replay.connect(replay_endpoint)
    replay.send_multipart([b"", first_missed.to_bytes(8, "big")])
    replayed = []
    while True:
        assert replay.poll(5000), "the replay ends with the END_SEQ marker"
        _, seq, payload = replay.recv_multipart()
        if seq == kv_events.END_SEQ:
            assert payload == b""
            break
        replayed.append((int.from_bytes(seq, "big"), kv_events.decode(payload)))
    assert [seq for seq, _ in replayed][:4] == [seq for _, seq, _ in live[1:]], "the same numbers as published"
    keys = [e.block_hashes[0].decode() for _, batch in replayed for e in batch.events]
    assert keys[:4] == [f"{key}r{i}" for i in range(1, 5)]
    store.close()
