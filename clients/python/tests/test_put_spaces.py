"""Puts of one size over shared memory go into space the master granted ahead (put_spaces.py): after the first, each
is one PutStart that carries no bytes and no PutEnd (a batch: one BatchPutStart naming a space per key), and every
object reads back whole from a store that maps nothing. Run against the real server of the session (jar or native), whose standalone worker keeps its segment in a
shared-memory file on this host."""
import time

import numpy as np
import pytest

from crescent import CrescentStore, ErrorCode, ReplicateConfig
from crescent.location_cache import WORD

from conftest import CountedStore, CrescentServer

SIZE = 256 << 10  # above the inline limit: without space a put is PutStart, a copy and PutEnd


@pytest.fixture
def writer(server_address):
    counted = CountedStore(server_address)
    yield counted
    counted.close()


@pytest.fixture
def reader(server_address):
    store = CrescentStore()
    assert store.setup(server_address, protocol="tcp") == 0
    yield store
    store.close()


def block(fill, size=SIZE):
    return np.full(size, fill, dtype=np.uint8)


def test_puts_of_one_size_are_made_in_space_granted_ahead(writer, reader, key):
    assert writer.store.put_from(key + "0", block(1)) == 0
    assert writer.calls.get("PutEnd") == 1, "the first put asks for space and goes the usual way"
    for i in range(1, 5):
        assert writer.store.put_from(key + str(i), block(1 + i)) == 0
    assert writer.calls.get("PutEnd") == 1, "each later put was made in its space"
    assert all(s.in_space for s in writer.starts[1:]) and not any(s.value for s in writer.starts)
    for i in range(5):
        assert reader.get(key + str(i)) == bytes(block(1 + i))


def test_a_refused_key_leaves_the_space_and_the_stored_object_whole(writer, reader, key):
    assert writer.store.put_from(key + "a", block(7)) == 0
    assert writer.store.put_from(key + "a", block(8)) == int(ErrorCode.OBJECT_ALREADY_EXISTS)
    assert writer.store.put_from(key + "b", block(9)) == 0
    assert writer.calls.get("PutEnd") == 1, "the refused put left its space for the next one"
    assert writer.starts[-1].in_space == writer.starts[-2].in_space != 0
    assert reader.get(key + "a") == bytes(block(7)), "the refused bytes never reached the stored object"
    assert reader.get(key + "b") == bytes(block(9))


def test_an_upsert_and_another_size_read_back_right(writer, reader, key):
    assert writer.store.put_from(key + "u", block(3)) == 0
    assert writer.store.upsert_from(key + "u", block(4)) == 0
    assert writer.store.put_from(key + "odd", block(5, SIZE + 8)) == 0
    assert writer.calls.get("PutEnd") == 2, "a size it holds no space for goes the usual way"
    assert reader.get(key + "u") == bytes(block(4))
    assert reader.get(key + "odd") == bytes(block(5, SIZE + 8))


def test_batched_puts_of_one_size_are_made_in_space_granted_ahead(writer, reader, key):
    keys = [f"{key}b{i}" for i in range(6)]
    assert writer.store.batch_put_from(keys[:3], [block(20 + i) for i in range(3)]) == [0] * 3
    assert writer.calls.get("BatchPutEnd") == 1, "the first batch asks for space per key and goes the usual way"
    assert writer.store.batch_put_from(keys[3:], [block(20 + i) for i in range(3, 6)]) == [0] * 3
    assert writer.calls.get("BatchPutEnd") == 1, "each key of the next batch was made in its space"
    second = writer.batch_starts[1]
    assert all(second.in_spaces) and len(set(second.in_spaces)) == 3 and not any(second.values)

    # One key refused (it exists), one new, one of a size held no space for: only the last is written apart.
    codes = writer.store.batch_put_from([keys[0], key + "bnew", key + "bodd"],
                                        [block(30), block(31), block(32, SIZE + 8)])
    assert codes == [int(ErrorCode.OBJECT_ALREADY_EXISTS), 0, 0]
    assert writer.calls.get("BatchPutEnd") == 2, "only the size held no space for was ended"
    # The refused key's space was given back: a full batch of the size still finds a space per key.
    assert writer.store.batch_upsert_from(keys[:3], [block(40 + i) for i in range(3)]) == [0] * 3
    assert writer.calls.get("BatchPutEnd") == 2, "upserts in space, the refused key's space among them"

    for i, name in enumerate(keys):
        assert reader.get(name) == bytes(block(40 + i if i < 3 else 20 + i)), name
    assert reader.get(key + "bnew") == bytes(block(31))
    assert reader.get(key + "bodd") == bytes(block(32, SIZE + 8))


def test_a_store_over_tcp_asks_for_no_space(server_address, key):
    counted = CountedStore(server_address, protocol="tcp")
    try:
        for i in range(3):
            assert counted.store.put_from(key + str(i), block(i)) == 0
        # Over tcp a single put's bytes go with its put start, streamed into place by the standalone master.
        assert counted.calls.get("PutStart") == 3 and not counted.calls.get("PutEnd")
        assert not any(s.writer_host or s.in_space for s in counted.starts)
        for i in range(2):
            assert counted.store.batch_put_from([f"{key}b{i}"], [block(i)]) == [0]
        assert not counted.calls.get("BatchPutEnd"), "a batch's bytes are streamed into place too"
        assert not any(s.writer_host or s.in_spaces for s in counted.batch_starts)
    finally:
        counted.close()


def test_a_space_whose_word_was_withdrawn_is_never_written(writer, reader, key):
    assert writer.store.put_from(key + "w0", block(11)) == 0  # asks for space
    (space,) = writer.store._spaces._by_size[SIZE]
    assert WORD.unpack_from(space.file, space.slot)[0] == space.version != 0
    # What a master does before the memory may go elsewhere:
    space.file[space.slot:space.slot + WORD.size] = bytes(WORD.size)
    before = bytes(space.memory)
    assert writer.store.put_from(key + "w1", block(12)) == 0
    assert writer.calls.get("PutEnd") == 2, "the put went the usual way"
    assert not writer.starts[-1].in_space
    assert bytes(space.memory) == before, "nothing was copied into the withdrawn space"
    assert reader.get(key + "w1") == bytes(block(12))


def test_a_closing_store_gives_its_spaces_back_at_once(key):
    """A store that closes frees the space the master granted it ahead at once: a pool filled around that space has
    room again for a put of its size right away, not when the space's 10 s lifetime ends. On a server of its own,
    whose pool only this test fills."""
    server = CrescentServer("-Dcrescent.worker.segment-size=16M")
    stores = []

    def store(protocol):
        s = CrescentStore()
        stores.append(s)
        assert s.setup(server.address, protocol=protocol) == 0
        return s

    try:
        pinned = ReplicateConfig(with_hard_pin=True)  # never evicted: only the space can make room
        writer, filler = store("auto"), store("tcp")  # a store over TCP is granted no space
        assert writer.put_from(key + "w", block(1, 4 << 20), config=pinned) == 0  # granted 4 MiB for its next put
        assert writer._spaces.granted
        filled = 0
        while filler.put_from(f"{key}fill{filled}", block(2, 1 << 20), config=pinned) == 0:
            filled += 1
        assert filler.put_from(key + "after", block(3, 4 << 20), config=pinned) == int(ErrorCode.NO_AVAILABLE_HANDLE)
        writer.close()
        assert filler.put_from(key + "after", block(3, 4 << 20), config=pinned) == 0
        assert filler.get(key + "after") == bytes(block(3, 4 << 20))
    finally:
        for s in stores:
            s.close()
        server.stop()


def test_a_store_whose_master_is_gone_closes_at_once(key):
    """Giving spaces back is one try: a store that holds space closes promptly when its master is gone, instead of
    retrying through the failover window (15 s)."""
    server = CrescentServer("-Dcrescent.worker.segment-size=16M")
    writer = CrescentStore()
    try:
        assert writer.setup(server.address) == 0
        assert writer.put_from(key + "w", block(1)) == 0
        assert writer._spaces.granted
    finally:
        server.stop()
    started = time.monotonic()
    assert writer.close() == 0
    assert time.monotonic() - started < 2.0
