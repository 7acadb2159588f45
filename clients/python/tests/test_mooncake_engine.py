"""Mooncake's ``mooncake.engine.TransferEngine`` over Crescent: its conventions (restated from Mooncake's
transfer_engine_py.cpp, commit 007354cc), then the disaggregated-serving call sequences of vLLM's MooncakeConnector
and SGLang's Mooncake backend (restated in tests/engines) between two processes: prefill in pd_peer.py, decode
here, with CPU tensors, bytes checked block by block."""
import os
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

import pd_peer
from child import Child
from crescent import ErrorCode
from mooncake.engine import TransferEngine, TransferOpcode

TESTS = Path(__file__).resolve().parent


class Prefill(Child):
    def __init__(self, engine, layers, blocks):
        super().__init__([sys.executable, str(TESTS / "pd_peer.py"), engine, str(layers), str(blocks)],
                         env=_with_engines_on_path())
        self.session = self.reply()["session"]

    def send(self, **command):
        return self.ask(**command)["ret"]


def _with_engines_on_path():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS / "engines")] + [p for p in sys.path if p])
    return env


@pytest.fixture
def mooncake():
    engine = TransferEngine()
    assert engine.initialize("127.0.0.1", "P2PHANDSHAKE", "rdma", "") == 0
    yield engine
    engine.close()


def test_conventions_of_the_pointer_api(mooncake):
    peer = TransferEngine()
    assert peer.initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", "") == 0
    try:
        session = f"127.0.0.1:{peer.get_rpc_port()}"
        target = peer.allocate_managed_buffer(1 << 20)
        assert target != 0
        assert mooncake.get_first_buffer_address(session) == target
        assert mooncake.send_probe(session) == 0

        source = torch.arange(4096, dtype=torch.uint8)
        assert mooncake.register_memory(source.data_ptr(), 4096) == 0
        assert mooncake.transfer_sync_write(session, source.data_ptr(), target + 100, 4096) == 0
        assert peer.read_bytes_from_buffer(target + 100, 4096) == bytes(source.numpy())
        back = torch.zeros(4096, dtype=torch.uint8)
        assert mooncake.transfer_sync(session, back.data_ptr(), target + 100, 4096, TransferOpcode.Read) == 0
        assert torch.equal(back, source)

        assert peer.write_bytes_to_buffer(target, b"crescent", 8) == 0
        assert mooncake.transfer_sync_read(session, back.data_ptr(), target, 8) == 0
        assert bytes(back[:8].numpy()) == b"crescent"

        batch = mooncake.batch_transfer_async_write(session, [source.data_ptr()] * 2, [target, target + 8192],
                                                    [4096, 4096])
        assert batch > 0 and mooncake.get_batch_transfer_status([batch]) == 0
        single = mooncake.transfer_submit_write(session, source.data_ptr(), target + 65536, 16)
        assert single > 0
        while (status := mooncake.transfer_check_status(single)) == 0:
            pass
        assert status == 1
        assert peer.read_bytes_from_buffer(target + 65536, 16) == bytes(source[:16].numpy())

        # Failures are negative numbers, never exceptions.
        assert mooncake.transfer_sync_write(session, source.data_ptr(), target + (1 << 20) - 8, 16) \
            == ErrorCode.INVALID_PARAMS
        assert mooncake.batch_transfer_sync_write(session, [source.data_ptr()], [target, target], [8]) \
            == ErrorCode.INVALID_PARAMS
        assert mooncake.transfer_sync_write("127.0.0.1:1", source.data_ptr(), target, 8) < 0
        failed = mooncake.batch_transfer_async_read(session, [back.data_ptr()], [target - 4096], [4096])
        assert mooncake.get_batch_transfer_status([failed]) == -1
        assert mooncake.register_memory(source.data_ptr() + 1, 8) == ErrorCode.SEGMENT_ALREADY_EXISTS
        assert mooncake.unregister_memory(source.data_ptr()) == 0
        assert mooncake.unregister_memory(source.data_ptr()) == ErrorCode.SEGMENT_NOT_FOUND
        assert peer.free_managed_buffer(target, 1 << 20) == 0
        assert mooncake.transfer_sync_write(session, source.data_ptr(), target, 8) == ErrorCode.INVALID_PARAMS
    finally:
        peer.close()


def test_metadata_services_other_than_crescents_are_refused():
    engine = TransferEngine()
    assert engine.initialize("127.0.0.1", "etcd://127.0.0.1:2379", "tcp", "") == ErrorCode.UNSUPPORTED
    assert engine.get_rpc_port() < 0
    assert engine.transfer_sync_write("127.0.0.1:1", 1, 1, 1) < 0


def test_a_crescent_master_as_the_metadata_service(server_address):
    """Engines named by their local_hostname (an address of this host, where they listen), looked up in the master
    (Mooncake's non-P2P mode); a name that is not such an address cannot be served and fails initialize."""
    serving, sending = TransferEngine(), TransferEngine()
    name = f"node-{uuid.uuid4().hex[:6]}"
    assert serving.initialize(name, f"crescent://{server_address}", "tcp", "") < 0
    assert serving.initialize("127.0.0.2", f"crescent://{server_address}", "tcp", "") == 0
    assert sending.initialize("127.0.0.3", server_address, "tcp", "") == 0
    try:
        target = serving.allocate_managed_buffer(4096)
        source = np.full(4096, 42, dtype=np.uint8)
        assert sending.transfer_sync_write("127.0.0.2", source.ctypes.data, target, 4096) == 0
        assert serving.read_bytes_from_buffer(target, 4096) == bytes(source)
    finally:
        serving.close()
        sending.close()


LAYERS, BLOCKS = 3, 24


def test_vllm_mooncake_connector_prefill_writes_into_decode():
    from vllm.distributed.kv_transfer.kv_connector.v1.mooncake.mooncake_connector import MooncakeConnectorWorker
    prefill = Prefill("vllm", LAYERS, BLOCKS)
    decode = MooncakeConnectorWorker("127.0.0.1", "kv_consumer")
    caches = pd_peer.vllm_caches(LAYERS, BLOCKS, producer=False)
    decode.register_kv_caches(caches)
    try:
        # Two requests: one whose blocks run together on both sides (coalesced into one descriptor per layer),
        # one scattered; and a partial prefix hit (D already has the first two of P's blocks).
        wanted = {"req-a": ([0, 1, 2, 3], [5, 6, 7, 8]), "req-b": ([9, 10, 11, 12, 13], [20, 2, 15])}
        meta = decode.xfer_metadata({req: (f"xfer-{req}", remote) for req, (_, remote) in wanted.items()})
        assert prefill.send(meta=meta, local_block_ids={req: local for req, (local, _) in wanted.items()}) == 0

        copied = {}
        for local, remote in wanted.values():
            copied.update(zip(remote, local[-len(remote):]))
        for layer, cache in enumerate(caches.values()):
            for block in range(BLOCKS):
                expected = pd_peer.fill(layer, copied[block]) if block in copied else 0.0
                assert torch.all(cache[block] == expected), (layer, block)
    finally:
        prefill.stop()
        decode.engine.close()


def test_sglang_mooncake_backend_prefill_writes_kv_pages_and_aux_into_decode():
    from sglang.srt.disaggregation.mooncake.conn import MooncakeKVManager
    from sglang.srt.distributed.device_communicators.mooncake_transfer_engine import MooncakeTransferEngine
    prefill = Prefill("sglang", LAYERS, BLOCKS)
    kv, aux = pd_peer.sglang_buffers(LAYERS, BLOCKS, producer=False)
    decode = MooncakeKVManager(pd_peer.kv_args(kv, aux), MooncakeTransferEngine("127.0.0.1", 0, None))
    try:
        session = decode.engine.get_session_id()
        prefill_pages, decode_pages = [3, 4, 5, 10, 11, 0], [7, 8, 9, 1, 2, 23]
        ret = prefill.send(do="send_kvcache", session=session, prefill=prefill_pages,
                          dst_ptrs=decode.kv_args.kv_data_ptrs, dst=decode_pages)
        assert ret == 0
        copied = dict(zip(decode_pages, prefill_pages))
        for index, buffer in enumerate(kv):
            side, layer = divmod(index, LAYERS)
            for page in range(BLOCKS):
                expected = pd_peer.fill(layer, copied[page], side) if page in copied else 0.0
                assert torch.all(buffer[page] == expected), (side, layer, page)

        ret = prefill.send(do="send_aux", session=session, prefill_aux_index=3,
                          dst_aux_ptrs=decode.kv_args.aux_data_ptrs, dst_aux_index=2)
        assert ret == 0
        for number, buffer in enumerate(aux):
            for item in range(buffer.shape[0]):
                expected = (number * 50 + 3 + 1) % 256 if item == 2 else 0
                assert torch.all(buffer[item] == expected), (number, item)

        # A decode pointer past every registration: the whole send answers an error, as Mooncake's -1. (An address a
        # fixed distance past one buffer may land in another the allocator placed there.)
        past_all = max(b.data_ptr() + b.numel() * b.element_size() for b in [*kv, *aux])
        ret = prefill.send(do="send_aux", session=session, prefill_aux_index=0,
                          dst_aux_ptrs=[past_all] * len(decode.kv_args.aux_data_ptrs), dst_aux_index=0)
        assert ret < 0
    finally:
        prefill.stop()
        decode.engine.engine.close()
