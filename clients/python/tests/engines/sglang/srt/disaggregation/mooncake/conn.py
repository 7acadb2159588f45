"""Restates the transfer-engine seams of SGLang's Mooncake disaggregation backend, ``MooncakeKVManager`` in
python/sglang/srt/disaggregation/mooncake/conn.py (SGLang main, autumn 2026), for an MHA model without a custom
memory pool and with pipeline parallelism 1:

- ``register_buffer_to_engine``: ``batch_register`` of the KV data pointers and lengths, then of the aux ones;
- the decode side sends its session id (the wrapper's ``get_session_id()``), its KV data pointers and page indices,
  and its aux pointers and aux index (over ZMQ in SGLang; carried by the tests here);
- ``send_kvcache``: pages grouped where both sides' indices are consecutive (``group_concurrent_contiguous``), K
  pointers of every layer then V pointers, each group one descriptor ``(src_ptr + first * item_len,
  dst_ptr + first * item_len, item_len * len(group))``, all layers in one ``batch_transfer_sync``;
- ``send_aux``: one descriptor per aux buffer, ``ptr + item_len * index`` on both sides, one ``batch_transfer_sync``.
Zero is success. Queues, threads, polling and the heterogeneous-TP slice path are left out."""
from sglang.srt.disaggregation.utils import group_concurrent_contiguous


class KVArgs:
    def __init__(self, kv_data_ptrs, kv_data_lens, kv_item_lens, aux_data_ptrs, aux_data_lens, aux_item_lens):
        self.kv_data_ptrs = kv_data_ptrs
        self.kv_data_lens = kv_data_lens
        self.kv_item_lens = kv_item_lens
        self.aux_data_ptrs = aux_data_ptrs
        self.aux_data_lens = aux_data_lens
        self.aux_item_lens = aux_item_lens


class MooncakeKVManager:
    def __init__(self, kv_args: KVArgs, engine):
        self.kv_args = kv_args
        self.engine = engine
        self.register_buffer_to_engine()

    def register_buffer_to_engine(self):
        if self.kv_args.kv_data_ptrs and self.kv_args.kv_data_lens:
            self.engine.batch_register(self.kv_args.kv_data_ptrs, self.kv_args.kv_data_lens)
        if self.kv_args.aux_data_ptrs and self.kv_args.aux_data_lens:
            self.engine.batch_register(self.kv_args.aux_data_ptrs, self.kv_args.aux_data_lens)

    def _transfer_data(self, mooncake_session_id, transfer_blocks):
        if not transfer_blocks:
            return 0
        src_addrs, dst_addrs, lengths = zip(*transfer_blocks)
        return self.engine.batch_transfer_sync(mooncake_session_id, list(src_addrs), list(dst_addrs), list(lengths))

    def send_kvcache(self, mooncake_session_id, prefill_kv_indices, dst_kv_ptrs, dst_kv_indices):
        prefill_kv_blocks, dst_kv_blocks = group_concurrent_contiguous(prefill_kv_indices, dst_kv_indices)
        layers = len(self.kv_args.kv_data_ptrs) // 2
        src_k, src_v = self.kv_args.kv_data_ptrs[:layers], self.kv_args.kv_data_ptrs[layers:]
        dst_k, dst_v = dst_kv_ptrs[:layers], dst_kv_ptrs[layers:]
        item_len = self.kv_args.kv_item_lens[0]
        layers_params = [(src_k[i], dst_k[i], item_len) for i in range(layers)] + \
                        [(src_v[i], dst_v[i], item_len) for i in range(layers)]
        transfer_blocks = []
        for src_ptr, dst_ptr, length in layers_params:
            for prefill_index, decode_index in zip(prefill_kv_blocks, dst_kv_blocks):
                transfer_blocks.append((src_ptr + int(prefill_index[0]) * length,
                                        dst_ptr + int(decode_index[0]) * length, length * len(prefill_index)))
        return self._transfer_data(mooncake_session_id, transfer_blocks)

    def send_aux(self, mooncake_session_id, prefill_aux_index, dst_aux_ptrs, dst_aux_index):
        transfer_blocks = []
        for i, dst_aux_ptr in enumerate(dst_aux_ptrs):
            length = self.kv_args.aux_item_lens[i]
            transfer_blocks.append((self.kv_args.aux_data_ptrs[i] + length * prefill_aux_index,
                                    dst_aux_ptr + length * dst_aux_index, length))
        return self._transfer_data(mooncake_session_id, transfer_blocks)
