"""Restates the transfer-engine seams of vLLM's disaggregated-prefill connector, ``MooncakeConnectorWorker`` in
vllm/distributed/kv_transfer/kv_connector/v1/mooncake/mooncake_connector.py (vLLM main, commit 00f4240e):

- construction: ``TransferEngine()``, then ``initialize(<own ip>, "P2PHANDSHAKE", <mooncake_protocol, default
  "rdma">, <device_name, default "">)`` (non-zero: RuntimeError), then ``get_rpc_port()``;
- ``register_kv_caches``: one region per layer tensor (base address, ``block_len = stride(0) * element_size``), the
  tensors' storages deduplicated and registered in one ``batch_register_memory(ptrs, lens)`` (non-zero:
  RuntimeError);
- the consumer (decode) sends ``MooncakeXferMetadata`` to the producer: its hostname and ``remote_port`` = its rpc
  port, its region base addresses and block lengths, and per request its block ids;
- the producer (prefill) plans the copies for homogeneous TP (``_build_transfer_params``: blocks whose ids are
  consecutive on both sides are coalesced into one descriptor when the whole block moves), then
  ``batch_transfer_sync_write(f"{remote_hostname}:{remote_port}", src_ptrs, dst_ptrs, lengths)``; 0 is success.

The ZMQ/msgspec side channel, bootstrap server, threads and heterogeneous-TP planning are left out: the tests carry
the metadata between the two processes themselves. KV caches are blocks-first
(``[num_blocks, 2, block_size, kv_heads, head_size]``), for which vLLM transfers whole blocks.
"""
from mooncake.engine import TransferEngine


def group_concurrent_contiguous(src_indices, dst_indices):
    """Runs of block ids consecutive on both sides (vLLM's helper of the same name)."""
    src_groups, dst_groups = [], []
    for src, dst in zip(src_indices, dst_indices):
        if src_groups and src == src_groups[-1][-1] + 1 and dst == dst_groups[-1][-1] + 1:
            src_groups[-1].append(src)
            dst_groups[-1].append(dst)
        else:
            src_groups.append([src])
            dst_groups.append([dst])
    return src_groups, dst_groups


class MooncakeConnectorWorker:
    def __init__(self, hostname, kv_role, extra_config=None):
        extra_config = extra_config or {}
        self.engine = TransferEngine()
        self.hostname = hostname
        self.is_kv_producer = kv_role == "kv_producer"
        protocol = extra_config.get("mooncake_protocol", "rdma")
        device_name = extra_config.get("device_name", "")
        ret_value = self.engine.initialize(self.hostname, "P2PHANDSHAKE", protocol, device_name)
        if ret_value != 0:
            raise RuntimeError("Mooncake Transfer Engine initialization failed.")
        self.rpc_port = self.engine.get_rpc_port()
        self.kv_caches_base_addr = []
        self.block_len_per_layer = []
        self.kv_block_len_per_layer = []

    def register_kv_caches(self, kv_caches):
        kv_data_ptrs, kv_data_lens, seen = [], [], set()
        self.kv_caches_base_addr, self.block_len_per_layer, self.kv_block_len_per_layer = [], [], []
        for cache in kv_caches.values():
            block_len = cache.stride(0) * cache.element_size()
            self.kv_caches_base_addr.append(cache.data_ptr())
            self.block_len_per_layer.append(block_len)
            self.kv_block_len_per_layer.append(block_len)
            # torch 2's untyped_storage(); Debian 12's torch 1.13 names the same storage storage()
            storage = cache.untyped_storage() if hasattr(cache, "untyped_storage") else cache.storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                kv_data_ptrs.append(storage.data_ptr())
                kv_data_lens.append(storage.nbytes())
        if not kv_data_ptrs:
            raise RuntimeError("No KV cache tensors were registered with Mooncake.")
        ret_value = self.engine.batch_register_memory(kv_data_ptrs, kv_data_lens)
        if ret_value != 0:
            raise RuntimeError("Mooncake batch memory registration failed.")

    def xfer_metadata(self, req_blocks):
        """What the consumer sends the producer (MooncakeXferMetadata's fields that the copy plan reads)."""
        return {"remote_hostname": self.hostname, "remote_port": self.rpc_port, "remote_tp_size": 1,
                "remote_tp_rank": 0, "req_blocks": req_blocks, "kv_caches_base_addr": self.kv_caches_base_addr,
                "block_lens": self.block_len_per_layer, "kv_block_lens": self.kv_block_len_per_layer}

    def send_kv_to_decode(self, meta, local_block_ids_by_req):
        """The producer's copies for every request in ``meta``; returns batch_transfer_sync_write's answer."""
        remote_session = f"{meta['remote_hostname']}:{meta['remote_port']}"
        src_ptrs, dst_ptrs, lengths = [], [], []
        for req_id, (_, remote_block_ids) in meta["req_blocks"].items():
            local_block_ids = local_block_ids_by_req[req_id]
            if len(local_block_ids) > len(remote_block_ids):
                local_block_ids = local_block_ids[-len(remote_block_ids):]  # a partial prefix hit on D
            local_groups, remote_groups = group_concurrent_contiguous(local_block_ids, remote_block_ids)
            for layer in range(len(self.kv_caches_base_addr)):
                local_base, local_len = self.kv_caches_base_addr[layer], self.block_len_per_layer[layer]
                remote_base, remote_len = meta["kv_caches_base_addr"][layer], meta["block_lens"][layer]
                transfer_len = self.kv_block_len_per_layer[layer]
                for local_group, remote_group in zip(local_groups, remote_groups):
                    src_ptrs.append(local_base + local_group[0] * local_len)
                    dst_ptrs.append(remote_base + remote_group[0] * remote_len)
                    lengths.append(transfer_len * len(local_group))
        if not src_ptrs:
            return 0
        return self._send_blocks(remote_session, src_ptrs, dst_ptrs, lengths)

    def _send_blocks(self, remote_session, src_ptrs, dst_ptrs, lengths):
        return self.engine.batch_transfer_sync_write(remote_session, src_ptrs, dst_ptrs, lengths)
