"""The shared-memory path maps only the file of the segment a transfer names (hardening issue, D3), as
ShmFiles.java does: never a file elsewhere, never another segment's file, never through a link."""
import os
import tempfile

import pytest

from crescent.errors import CrescentError, ErrorCode
from crescent.transfer import Endpoint, SharedMemoryPath, Transfer, READ, WRITE, current_host_id


@pytest.fixture
def shm_file():
    path = f"/dev/shm/crescent-pyvictim.{os.getpid()}"
    with open(path, "wb") as f:
        f.write(b"\x2a" * 4096)
    os.chmod(path, 0o600)
    yield path
    os.unlink(path)


def transfer(op, segment, file, view):
    return Transfer(op, segment, Endpoint(current_host_id(), "", file), 0, view)


def refused(path_, t):
    with pytest.raises(CrescentError) as failure:
        path_.run(t)
    assert failure.value.code == ErrorCode.TRANSFER_FAIL


def test_a_segments_own_file_is_mapped(shm_file):
    path_ = SharedMemoryPath()
    got = bytearray(4)
    path_.run(transfer(READ, "pyvictim", shm_file, memoryview(got)))
    assert got == b"\x2a" * 4
    path_.close()


def test_a_file_outside_shared_memory_is_refused_and_untouched():
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b"root:x:0:0")
    try:
        path_ = SharedMemoryPath()
        refused(path_, transfer(READ, "evil", f.name, memoryview(bytearray(4))))
        refused(path_, transfer(WRITE, "evil", f.name, memoryview(bytearray(b"XXXX"))))
        with open(f.name, "rb") as back:
            assert back.read() == b"root:x:0:0"
    finally:
        os.unlink(f.name)


@pytest.mark.parametrize("mapped_first", [False, True], ids=["unmapped", "mapped-for-its-segment"])
def test_another_segments_file_is_refused(shm_file, mapped_first):
    path_ = SharedMemoryPath()
    if mapped_first:  # the check is made once per segment name, not skipped for a file already mapped
        path_.run(transfer(READ, "pyvictim", shm_file, memoryview(bytearray(1))))
        assert path_.mapping("pyvictim", Endpoint(current_host_id(), "", shm_file)) is not None
        assert path_.mapping("evil", Endpoint(current_host_id(), "", shm_file)) is None
    refused(path_, transfer(WRITE, "evil", shm_file, memoryview(bytearray(b"\x07"))))
    with open(shm_file, "rb") as back:
        assert back.read(1) == b"\x2a"
    path_.close()


def test_a_link_dressed_as_a_segment_file_is_not_followed(shm_file):
    link = f"/dev/shm/crescent-evil.{os.getpid() + 1}"
    os.symlink(shm_file, link)
    try:
        refused(SharedMemoryPath(), transfer(READ, "evil", link, memoryview(bytearray(1))))
    finally:
        os.unlink(link)
