"""Restates SGLang's built-in Mooncake HiCache backend, python/sglang/srt/mem_cache/storage/mooncake_store/
mooncake_store.py (SGLang main, commit 8704aa6): the Mooncake calls it makes and in which order. Only the master
address and the protocol come from the extra config here (the real one also reads a file or MOONCAKE_* variables)."""
import uuid

from sglang.srt.mem_cache.hicache_storage import HiCacheStorage


class MooncakeStore(HiCacheStorage):
    def __init__(self, storage_config=None):
        from mooncake.store import MooncakeDistributedStore
        extra = storage_config.extra_config
        self.store = MooncakeDistributedStore()
        tp = storage_config.tp_size
        code = self.store.setup("localhost", "P2PHANDSHAKE", (4 << 30) // tp, (16 << 20) // tp,
                                extra.get("protocol", "tcp"), "", extra["master_server_address"])
        if code:
            raise RuntimeError(f"failed to setup mooncake store, error code: {code}")
        warmup_key = "sglang_mooncake_store_warmup_key" + uuid.uuid4().hex
        value = bytes(4 * 1024)
        assert self.store.put(warmup_key, value) == 0
        assert self.store.is_exist(warmup_key) == 1
        assert self.store.get(warmup_key) == value
        self.is_mla_backend = storage_config.is_mla_model
        self.local_rank = storage_config.tp_rank

    def register_mem_pool_host(self, mem_pool_host):
        super().register_mem_pool_host(mem_pool_host)
        assert mem_pool_host.layout in ("page_first", "page_first_direct")
        buffer = mem_pool_host.kv_buffer
        assert self.store.register_buffer(buffer.data_ptr(), buffer.numel() * buffer.element_size()) == 0

    def _object_keys(self, keys):
        if self.is_mla_backend:
            return [f"{k}_k" for k in keys]
        return [name for k in keys for name in (f"{k}_{self.local_rank}_k", f"{k}_{self.local_rank}_v")]

    def _per_page(self, results, is_set):
        ok = [(r == 0) if is_set else (r > 0) for r in results]
        if self.is_mla_backend:
            return ok
        return [k and v for k, v in zip(ok[::2], ok[1::2])]

    def batch_get_v1(self, keys, host_indices, extra_info=None):
        ptrs, sizes = self.mem_pool_host.get_page_buffer_meta(host_indices)
        return self._per_page(self.store.batch_get_into(self._object_keys(keys), ptrs, sizes), is_set=False)

    def batch_set_v1(self, keys, host_indices, extra_info=None):
        ptrs, sizes = self.mem_pool_host.get_page_buffer_meta(host_indices)
        names = self._object_keys(keys)
        exists = self.store.batch_is_exist(names)
        results = [0 if e == 1 else -1 for e in exists]
        todo = [i for i, e in enumerate(exists) if e != 1]
        if todo:
            put = self.store.batch_put_from([names[i] for i in todo], [ptrs[i] for i in todo], [sizes[i] for i in todo])
            for i, code in zip(todo, put):
                results[i] = code
        return self._per_page(results, is_set=True)

    def get(self, key, target_location=None, target_sizes=None):
        return self.store.batch_get_into([key], [target_location], [target_sizes])[0] >= 0

    def batch_get(self, keys, target_locations=None, target_sizes=None):
        raise NotImplementedError  # only the zero-copy path is used with this backend

    def set(self, key, value=None, target_location=None, target_sizes=None):
        if self.store.batch_is_exist([key])[0] == 1:
            return True
        return self.store.batch_put_from([key], [target_location], [target_sizes])[0] == 0

    def batch_set(self, keys, values=None, target_locations=None, target_sizes=None):
        raise NotImplementedError

    def exists(self, key):
        return self.store.batch_is_exist([key])[0] == 1

    def batch_exists(self, keys, extra_info=None):
        names = self._object_keys(keys)
        per_key = 1 if self.is_mla_backend else 2
        exists = self.store.batch_is_exist(names)
        for i, e in enumerate(exists):
            if e != 1:
                return i // per_key
        return len(names) // per_key

    def clear(self):
        self.store.remove_all()

    def close(self):
        pass
