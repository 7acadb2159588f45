"""Restates how python/sglang/srt/managers/cache_controller.py's HiCacheController (SGLang main, autumn 2026) uses a
storage backend: attach (create through the factory, then register the host pool; the zero-copy page functions are
chosen for a dynamic backend only with ``interface_v1``), the prefetch hit query (``batch_exists`` per batch, stop
at the first short batch), page reads and page backups. Batches of STORAGE_BATCH_SIZE pages, as HiCache sends them."""
from sglang.srt.mem_cache.hicache_storage import HiCacheStorageExtraInfo
from sglang.srt.mem_cache.storage import StorageBackendFactory

STORAGE_BATCH_SIZE = 128


class HiCacheController:
    def __init__(self, mem_pool_host, storage_config, backend="dynamic"):
        self.mem_pool_host = mem_pool_host
        self.page_size = mem_pool_host.page_size
        self.storage_config = storage_config
        self.storage_backend = StorageBackendFactory.create_backend(backend, storage_config, mem_pool_host)
        self.storage_backend.register_mem_pool_host(mem_pool_host)
        zero_copy = backend in ("hf3fs", "mooncake", "eic", "nixl", "simm", "mori") or (
            backend == "dynamic" and bool(storage_config.extra_config.get("interface_v1", 0)))
        self.page_get_func = self._page_get_zero_copy if zero_copy else self._generic_page_get
        self.page_set_func = self._page_set_zero_copy if zero_copy else self._generic_page_set
        self.backup_skip = storage_config.is_mla_model and storage_config.tp_rank != 0

    def storage_hit_query(self, page_hashes):
        hits = []
        for start in range(0, len(page_hashes), STORAGE_BATCH_SIZE):
            batch = page_hashes[start:start + STORAGE_BATCH_SIZE]
            hit = self.storage_backend.batch_exists(batch, HiCacheStorageExtraInfo())
            hits.extend(batch[:hit])
            if hit < len(batch):
                break
        return hits

    def page_transfer(self, hash_values, host_indices):
        """Prefetch: pages read, counted up to the first failure."""
        completed = 0
        for start in range(0, len(hash_values), STORAGE_BATCH_SIZE):
            batch = hash_values[start:start + STORAGE_BATCH_SIZE]
            indices = host_indices[start * self.page_size:(start + len(batch)) * self.page_size]
            hit = self.page_get_func(batch, indices)
            completed += hit
            if hit != len(batch):
                break
        return completed

    def page_backup(self, hash_values, host_indices):
        if self.backup_skip:
            return 0
        completed = 0
        for start in range(0, len(hash_values), STORAGE_BATCH_SIZE):
            batch = hash_values[start:start + STORAGE_BATCH_SIZE]
            indices = host_indices[start * self.page_size:(start + len(batch)) * self.page_size]
            if not self.page_set_func(batch, indices):
                break
            completed += len(batch)
        return completed

    def _page_get_zero_copy(self, hash_values, host_indices):
        results = self.storage_backend.batch_get_v1(hash_values, host_indices, HiCacheStorageExtraInfo())
        count = 0
        for ok in results:
            if not ok:
                break
            count += 1
        return count

    def _generic_page_get(self, hash_values, host_indices):
        dummy = [self.mem_pool_host.get_dummy_flat_data_page() for _ in hash_values]
        page_data = self.storage_backend.batch_get(hash_values, dummy)
        if page_data is None:
            return 0
        count = 0
        for i in range(len(hash_values)):
            if page_data[i] is None:
                break
            self.mem_pool_host.set_from_flat_data_page(int(host_indices[i * self.page_size]), page_data[i])
            count += 1
        return count

    def _page_set_zero_copy(self, hash_values, host_indices):
        return all(self.storage_backend.batch_set_v1(hash_values, host_indices, HiCacheStorageExtraInfo()))

    def _generic_page_set(self, hash_values, host_indices):
        data = [self.mem_pool_host.get_data_page(int(host_indices[i * self.page_size])) for i in range(len(hash_values))]
        return self.storage_backend.batch_set(hash_values, data)
