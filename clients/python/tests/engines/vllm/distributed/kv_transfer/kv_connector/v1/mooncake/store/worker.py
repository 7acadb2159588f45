"""Restates the Mooncake calls of vLLM's MooncakeStoreConnector worker,
vllm/distributed/kv_transfer/kv_connector/v1/mooncake/store/worker.py (vLLM main, autumn 2026): setup with
Mooncake's seven positional arguments, one register_buffer per KV cache tensor, lookups by batch_is_exist (a hit is
a leading run of 1s), saves by batch_put_from_multi_buffers with a ReplicateConfig preferring the local segment
(-200 is store pressure, any negative a failed save), loads by batch_get_into_multi_buffers (negative: the block
failed to load). Keys are ``<model>@<shard>@<block hash>`` with one address/size list per key (a block's K and V
of every layer). The threading, metrics and layout machinery of the real worker are left out."""
from mooncake.store import MooncakeDistributedStore, ReplicateConfig

MOONCAKE_NO_AVAILABLE_HANDLE = -200


class MooncakeStoreWorker:
    def __init__(self, master_server_address, model_name, tp_rank, protocol="rdma"):
        self.store = MooncakeDistributedStore()
        self.local_hostname = "127.0.0.1"
        code = self.store.setup(self.local_hostname, "P2PHANDSHAKE", 4 << 30, 4 << 30, protocol, "",
                                master_server_address)
        if code != 0:
            raise RuntimeError(f"Mooncake store setup failed: {code}")
        self.prefix = f"{model_name}@tp_rank:{tp_rank}@"
        self.kv_caches = {}
        self.replicate_config = ReplicateConfig()
        self.replicate_config.preferred_segment = self.local_hostname
        self.replicate_config.prefer_alloc_in_same_node = True
        self.store_pressure = False

    def register_kv_caches(self, kv_caches):
        self.kv_caches = kv_caches
        for cache in kv_caches.values():
            if self.store.register_buffer(cache.data_ptr(), cache.numel() * cache.element_size()) != 0:
                raise RuntimeError("Mooncake memory registration failed")

    def _block_address_lists(self, block_id):
        addresses, sizes = [], []
        for cache in self.kv_caches.values():
            for part in (cache[0, block_id], cache[1, block_id]):
                addresses.append(part.data_ptr())
                sizes.append(part.numel() * part.element_size())
        return addresses, sizes

    def lookup(self, block_hashes) -> int:
        hits = 0
        for present in self.store.batch_is_exist([self.prefix + h for h in block_hashes]):
            if int(present) != 1:
                break
            hits += 1
        return hits

    def save(self, block_hashes, block_ids) -> list:
        keys = [self.prefix + h for h in block_hashes]
        exists = self.store.batch_is_exist(keys)
        todo = [i for i, e in enumerate(exists) if e != 1]
        if not todo:
            return []
        lists = [self._block_address_lists(block_ids[i]) for i in todo]
        results = self.store.batch_put_from_multi_buffers([keys[i] for i in todo], [a for a, _ in lists],
                                                          [s for _, s in lists], self.replicate_config)
        self.store_pressure = any(r == MOONCAKE_NO_AVAILABLE_HANDLE for r in results)
        return [block_ids[i] for i, r in zip(todo, results) if r < 0]

    def load(self, block_hashes, block_ids) -> set:
        lists = [self._block_address_lists(b) for b in block_ids]
        results = self.store.batch_get_into_multi_buffers([self.prefix + h for h in block_hashes],
                                                          [a for a, _ in lists], [s for _, s in lists])
        return {block_id for block_id, r in zip(block_ids, results) if r < 0}

    def close(self):
        self.store.close()
