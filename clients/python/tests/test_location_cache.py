"""A repeated get of a same-host object is one memory copy with no master call, and a cached location is never
served once the object changed: the version word the master withdraws before an object's memory can change is read
before and after every cached copy (location_cache.py). Run against the real server of the session (jar or native),
whose standalone worker keeps its segment in a shared-memory file with a version table."""
import time

import numpy as np
import pytest

from crescent import CrescentStore, ErrorCode
from crescent.location_cache import LOADS_IN_ORDER

from conftest import CountedStore, wait_until

pytestmark = pytest.mark.skipif(not LOADS_IN_ORDER, reason="the cache is off where loads may be reordered")

SIZE = 128 << 10  # above the inline limit: read from the segment, as KV-cache blocks are


@pytest.fixture
def reader(server_address):
    counted = CountedStore(server_address)
    yield counted
    counted.close()


@pytest.fixture
def writer(server_address):
    store = CrescentStore()
    assert store.setup(server_address) == 0
    yield store
    store.close()


def block(fill):
    return np.full(SIZE, fill, dtype=np.uint8)


def removed(store, key):
    """Removes ``key`` once the reader's last lease on it is back (read leases go back within milliseconds)."""
    return wait_until(lambda: store.remove(key) == 0)


def test_a_repeated_get_of_a_same_host_object_asks_the_master_once(reader, writer, key):
    assert writer.put_from(key + "a", block(1)) == 0
    target = np.zeros(SIZE, dtype=np.uint8)
    for _ in range(3):
        target[:] = 0
        assert reader.store.get_into(key + "a", target) == SIZE
        assert (target == 1).all()
    assert reader.located == 1
    assert reader.store.get(key + "a") == bytes(block(1))
    assert reader.located == 1, "get (bytes) takes the cached location too"


def test_a_cached_location_is_never_served_once_another_client_changed_the_object(reader, writer, key):
    target = np.zeros(SIZE, dtype=np.uint8)
    assert writer.put_from(key + "b", block(1)) == 0
    assert reader.store.get_into(key + "b", target) == SIZE
    assert reader.store.get_into(key + "b", target) == SIZE
    assert reader.located == 1

    assert writer.upsert_from(key + "b", block(2)) == 0  # same size: rewritten in place
    assert reader.store.get_into(key + "b", target) == SIZE
    assert (target == 2).all(), "the upsert's bytes, never the cached version's"

    assert removed(writer, key + "b")
    assert reader.store.get_into(key + "b", target) == ErrorCode.OBJECT_NOT_FOUND
    assert reader.store.get(key + "b") == b""

    assert writer.put_from(key + "b", np.full(SIZE // 2, 3, dtype=np.uint8)) == 0
    assert reader.store.get(key + "b") == bytes([3]) * (SIZE // 2)


def test_batches_read_cached_locations_and_ask_only_for_the_rest(reader, writer, key):
    keys = [f"{key}k{i}" for i in range(3)]
    assert writer.batch_put_from(keys, [block(i + 1) for i in range(3)]) == [0, 0, 0]
    targets = [np.zeros(SIZE, dtype=np.uint8) for _ in keys]
    assert reader.store.batch_get_into(keys, targets) == [SIZE] * 3
    assert reader.located == 1
    for t in targets:
        t[:] = 0
    assert reader.store.batch_get_into(keys, targets) == [SIZE] * 3
    assert reader.located == 1, "every location was cached"
    assert [int(t[0]) for t in targets] == [1, 2, 3]

    assert removed(writer, keys[1])
    assert writer.upsert_from(keys[2], block(9)) == 0
    assert reader.store.batch_get(keys) == [bytes(block(1)), b"", bytes(block(9))]
    assert reader.located == 2, "one call for the keys whose versions are gone"


def test_this_clients_own_changes_drop_its_cached_locations(reader, key):
    target = np.zeros(SIZE, dtype=np.uint8)
    assert reader.store.put_from(key + "own", block(4)) == 0
    assert reader.store.get_into(key + "own", target) == SIZE
    assert reader.store._locations.size(key + "own") == SIZE
    assert reader.store.remove(key + "own") == 0
    assert reader.store._locations.size(key + "own") == -1, "dropped at once, not when its word is next read"
    assert reader.store.get_into(key + "own", target) == ErrorCode.OBJECT_NOT_FOUND
    assert reader.store.put_from(key + "own", block(5)) == 0
    assert reader.store.get_into(key + "own", target) == SIZE
    assert reader.store.put_from(key + "own", block(6)) == ErrorCode.OBJECT_ALREADY_EXISTS
    assert reader.store.upsert_from(key + "own", block(6)) == 0
    assert reader.store._locations.size(key + "own") == -1
    assert reader.store.get_into(key + "own", target) == SIZE
    assert (target == 6).all()
    assert reader.located == 4


def test_locations_expire_and_can_be_turned_off(server_address, writer, key):
    assert writer.put_from(key + "t", block(5)) == 0
    target = np.zeros(SIZE, dtype=np.uint8)
    short = CountedStore(server_address, cached_locations=0.2)
    never = CountedStore(server_address, cached_locations=0)
    tcp = CountedStore(server_address, protocol="tcp")
    try:
        for counted in (short, never, tcp):
            assert counted.store.get_into(key + "t", target) == SIZE
            assert counted.store.get_into(key + "t", target) == SIZE
        assert short.located == 1
        assert never.located == 2, "cached_locations=0: every get asks the master"
        assert tcp.located == 2, "a store that maps no segment caches nothing"
        time.sleep(0.3)
        assert short.store.get_into(key + "t", target) == SIZE
        assert short.located == 2, "an entry past its time to live is asked again"
    finally:
        for counted in (short, never, tcp):
            counted.close()


def test_a_read_sized_for_an_entry_another_thread_replaced_is_refused():
    """Between a caller's ``size`` and its ``read`` another thread may cache a newer location of another size: the
    read must not copy that object into pieces cut for the old size (past its end, or short of it)."""
    from types import SimpleNamespace

    from crescent.location_cache import LocationCache

    memory = bytearray(4096)
    memory[8:16] = (7).to_bytes(8, "little" if np.little_endian else "big")  # the version word at slot 8

    def location(size):
        replica = SimpleNamespace(version_slot=8, offset=64)
        return SimpleNamespace(version=7, value=None, size=size, replicas=[replica])
    cache = LocationCache(10.0)
    cache.remember("k", location(100), lambda replica: memoryview(memory))
    assert cache.size("k") == 100
    cache.remember("k", location(50), lambda replica: memoryview(memory))  # another thread, meanwhile
    target = bytearray(100)
    assert not cache.read("k", 100, [(0, memoryview(target))])
    assert cache.read("k", 50, [(0, memoryview(target)[:50])])
