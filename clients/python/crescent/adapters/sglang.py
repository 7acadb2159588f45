"""SGLang HiCache storage backend: the L3 tier of SGLang's hierarchical cache, in Crescent.

Enable it with SGLang's dynamic storage backend loader, e.g.::

    --hicache-storage-backend dynamic --hicache-storage-backend-extra-config \
      '{"backend_name": "crescent", "module_path": "crescent.adapters.sglang",
        "class_name": "CrescentHiCacheStorage", "master_server_address": "crescent-master:8080"}'

Keys are SGLang's page hashes, suffixed with the tensor-parallel rank (MLA models share one copy across ranks).
Misses are ``None``/``False`` and ``batch_exists`` counts the hit prefix, as HiCache expects; a full store
(back-pressure, -200) makes ``set`` answer False, which HiCache treats as "not backed up", never as an error.
"""
import torch

from ..buffers import address_view
from ..errors import ErrorCode
from ._common import connect, leading_hits, note_puts

try:  # The real base class when SGLang is installed; the adapter also works (and is tested) without it.
    from sglang.srt.mem_cache.hicache_storage import HiCacheStorage as _Base
except ImportError:
    _Base = object


class CrescentHiCacheStorage(_Base):
    def __init__(self, storage_config=None, **kwargs):
        extra = dict(getattr(storage_config, "extra_config", None) or {})
        extra.update(kwargs.pop("extra_config", None) or {})
        self.store = connect(extra)
        mla = bool(getattr(storage_config, "is_mla_model", False))
        rank = getattr(storage_config, "tp_rank", 0)
        self._suffix = "" if mla else f"_{rank}"
        self.mem_pool_host = None

    def register_mem_pool_host(self, mem_pool_host):
        self.mem_pool_host = mem_pool_host

    def _key(self, key: str) -> str:
        return key + self._suffix

    # ---- tensor / address interface ------------------------------------------------------------------------

    def get(self, key, target_location=None, target_sizes=None):
        """Reads into ``target_location`` (a tensor, or an address with ``target_sizes`` bytes) and returns it;
        without a target, returns a new uint8 tensor. None on a miss or a failed read."""
        if target_location is None:
            size = self.store.get_size(self._key(key))
            if size < 0:
                return None
            target_location = torch.empty(size, dtype=torch.uint8)
        code = self.store.get_into(self._key(key), target_location, target_sizes)
        return target_location if code >= 0 else None

    def batch_get(self, keys, target_locations=None, target_sizes=None):
        if target_locations is None:
            return [self.get(k) for k in keys]
        sizes = target_sizes if target_sizes is not None else [None] * len(keys)
        codes = self.store.batch_get_into([self._key(k) for k in keys], list(target_locations), list(sizes))
        return [t if c >= 0 else None for t, c in zip(target_locations, codes)]

    def set(self, key, value=None, target_location=None, target_sizes=None) -> bool:
        source = value if value is not None else target_location
        return note_puts("sglang", [self.store.put_from(self._key(key), source, target_sizes)])[0]

    def batch_set(self, keys, values=None, target_locations=None, target_sizes=None) -> bool:
        sources = values if values is not None else target_locations
        sizes = target_sizes if target_sizes is not None else [None] * len(keys)
        return all(note_puts("sglang", self.store.batch_put_from([self._key(k) for k in keys], list(sources),
                                                                  list(sizes))))

    def exists(self, key) -> bool:
        return self.store.is_exist(self._key(key)) == 1

    def batch_exists(self, keys, extra_info=None) -> int:
        return leading_hits(self.store.batch_is_exist([self._key(k) for k in keys]))

    # ---- zero-copy page interface (host memory pool) -------------------------------------------------------

    def batch_get_v1(self, keys, host_indices, extra_info=None) -> list:
        """Reads pages straight into the host pool: each key's object lands in its page's buffers (K then V)."""
        buffers = self._page_buffers(keys, host_indices)
        codes = self.store.batch_get_into_multi_buffers([self._key(k) for k in keys], buffers)
        return [c >= 0 for c in codes]

    def batch_set_v1(self, keys, host_indices, extra_info=None) -> list:
        buffers = self._page_buffers(keys, host_indices)
        return note_puts("sglang", self.store.batch_put_from_multi_buffers([self._key(k) for k in keys], buffers))

    def _page_buffers(self, keys, host_indices) -> list:
        """Each key's page as views of the host pool: get_page_buffer_meta gives (addresses, sizes) in key order,
        one buffer per page for MLA, two (K, V) otherwise."""
        if self.mem_pool_host is None:
            raise RuntimeError("register_mem_pool_host must be called before the page interface")
        addresses, sizes = self.mem_pool_host.get_page_buffer_meta(host_indices)
        per_key = len(addresses) // max(1, len(keys))
        return [[address_view(a, s) for a, s in zip(addresses[i * per_key:(i + 1) * per_key],
                                                      sizes[i * per_key:(i + 1) * per_key])]
                for i in range(len(keys))]

    def clear(self) -> None:
        self.store.remove_all(force=True)

    def close(self):
        self.store.close()


__all__ = ["CrescentHiCacheStorage", "ErrorCode"]
