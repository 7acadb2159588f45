"""Restates SGLang's wrapper around Mooncake's transfer engine,
python/sglang/srt/distributed/device_communicators/mooncake_transfer_engine.py (SGLang main, commit fbf637a4), the
one place SGLang's disaggregation calls ``mooncake.engine.TransferEngine``: construction initializes with
``(hostname, "P2PHANDSHAKE", "rdma", ib_device or "")`` (non-zero: RuntimeError) and names the session
``f"{hostname}:{get_rpc_port()}"``; registration failures are only logged; ``transfer_sync``/``batch_transfer_sync``
call ``transfer_sync_write``/``batch_transfer_sync_write`` and turn an exception into -1. The Ascend branch and the
shared-instance helpers are left out."""
import logging
from typing import List, Optional

logger = logging.getLogger(__name__)


class MooncakeTransferEngine:
    def __init__(self, hostname: str, gpu_id: Optional[int] = None, ib_device: Optional[str] = None):
        from mooncake.engine import TransferEngine
        self.engine = TransferEngine()
        self.hostname = hostname
        self.gpu_id = gpu_id if gpu_id is not None else 0
        self.ib_device = ib_device
        self.initialize(hostname=self.hostname, device_name=self.ib_device)
        self.session_id = f"{self.hostname}:{self.engine.get_rpc_port()}"

    def register(self, ptr, length):
        try:
            ret_value = self.engine.register_memory(ptr, length)
        except Exception:
            ret_value = -1
        if ret_value != 0:
            logger.debug("Mooncake memory registration %s failed.", ptr)

    def deregister(self, ptr):
        try:
            ret_value = self.engine.unregister_memory(ptr)
        except Exception:
            ret_value = -1
        if ret_value != 0:
            logger.debug("Mooncake memory deregistration %s failed.", ptr)

    def batch_register(self, ptrs: List[int], lengths: List[int]) -> int:
        try:
            ret_value = self.engine.batch_register_memory(ptrs, lengths)
        except Exception:
            ret_value = -1
        return ret_value

    def batch_deregister(self, ptrs: List[int]) -> int:
        try:
            ret_value = self.engine.batch_unregister_memory(ptrs)
        except Exception:
            ret_value = -1
        return ret_value

    def initialize(self, hostname: str, device_name: Optional[str]) -> None:
        ret_value = self.engine.initialize(hostname, "P2PHANDSHAKE", "rdma",
                                           device_name if device_name is not None else "")
        if ret_value != 0:
            raise RuntimeError("Mooncake Transfer Engine initialization failed.")

    def transfer_sync(self, session_id: str, buffer: int, peer_buffer_address: int, length: int) -> int:
        try:
            ret = self.engine.transfer_sync_write(session_id, buffer, peer_buffer_address, length)
        except Exception:
            ret = -1
        return ret

    def batch_transfer_sync(self, session_id: str, buffers: List[int], peer_buffer_addresses: List[int],
                            lengths: List[int]) -> int:
        try:
            ret = self.engine.batch_transfer_sync_write(session_id, buffers, peer_buffer_addresses, lengths)
        except Exception:
            ret = -1
        return ret

    def get_session_id(self):
        return self.session_id
