"""SGLang HiCache storage backend: the L3 tier of SGLang's hierarchical cache, in Crescent.

Enable it with SGLang's dynamic storage backend loader::

    --enable-hierarchical-cache --hicache-mem-layout page_first \
    --hicache-storage-backend dynamic --hicache-storage-backend-extra-config \
      '{"backend_name": "crescent", "module_path": "crescent.adapters.sglang",
        "class_name": "CrescentHiCacheStorage", "interface_v1": 1,
        "master_server_address": "crescent-master:8080"}'

``interface_v1: 1`` makes HiCache use the zero-copy page path (pages move straight between the host pool and
Crescent); without it HiCache copies each page through a flat buffer (``batch_get``/``batch_set``), which also works.

Keys are SGLang's page hashes under the model and this rank's place in it: the tensor-parallel rank and size
(omitted for MLA models, whose ranks hold the same KV), the pipeline stage when pipeline parallel, and the
context-parallel rank when context parallel, so no rank is ever served another rank's, stage's or model's pages.
A page is read only when the stored object has exactly the page's size. Misses are ``None``/``False`` and
``batch_exists`` counts the hit prefix, as HiCache expects; a full store (back-pressure, -200) makes a set answer
False, which HiCache treats as "not backed up", never as an error. ``clear()`` removes the pages this backend
stored, never other instances' or models' pages.

Restated interfaces: SGLang main of autumn 2026 (``StorageBackendFactory._create_dynamic_backend`` calls
``backend_class(storage_config, kwargs)``; ``HiCacheController.attach_storage_backend`` then calls
``register_mem_pool_host``).
"""
import threading

import torch

from ..buffers import address_view, byte_view
from ..errors import ErrorCode
from ._common import connect, leading_hits, note_puts

try:  # The real base class when SGLang is installed (or the tests' restatement of it).
    from sglang.srt.mem_cache.hicache_storage import HiCacheStorage as _Base
except ImportError:
    _Base = object


class CrescentHiCacheStorage(_Base):
    def __init__(self, storage_config=None, kwargs=None):
        extra = dict(getattr(storage_config, "extra_config", None) or {})
        extra.update(kwargs or {})
        self.store = connect(extra)
        self._suffix = _rank_suffix(storage_config)
        self._written = set()
        self._written_lock = threading.Lock()
        self.mem_pool_host = None

    def register_mem_pool_host(self, mem_pool_host):
        self.mem_pool_host = mem_pool_host

    def _key(self, key: str) -> str:
        return key + self._suffix

    # ---- tensor / address interface (HiCache's generic page path) ------------------------------------------

    def get(self, key, target_location=None, target_sizes=None):
        """Reads into ``target_location`` (a tensor, or an address with ``target_sizes`` bytes) and returns it;
        without a target, returns a new uint8 tensor of the object. None on a miss, a failed read, or an object
        whose size is not the target's."""
        if target_location is None:
            size = self.store.get_size(self._key(key))
            if size < 0:
                return None
            target_location = torch.empty(size, dtype=torch.uint8)
        code = self.store.get_into(self._key(key), target_location, target_sizes)
        return target_location if code == _nbytes(target_location, target_sizes) else None

    def batch_get(self, keys, target_locations=None, target_sizes=None):
        if target_locations is None:
            return [self.get(k) for k in keys]
        sizes = list(target_sizes) if target_sizes is not None else [None] * len(keys)
        codes = self.store.batch_get_into([self._key(k) for k in keys], list(target_locations), sizes)
        return [t if c == _nbytes(t, s) else None for t, s, c in zip(target_locations, sizes, codes)]

    def set(self, key, value=None, target_location=None, target_sizes=None) -> bool:
        source = value if value is not None else target_location
        return self._stored([key], [self.store.put_from(self._key(key), source, target_sizes)])[0]

    def batch_set(self, keys, values=None, target_locations=None, target_sizes=None) -> bool:
        sources = values if values is not None else target_locations
        sizes = list(target_sizes) if target_sizes is not None else [None] * len(keys)
        codes = self.store.batch_put_from([self._key(k) for k in keys], list(sources), sizes)
        return all(self._stored(keys, codes))

    def exists(self, key) -> bool:
        return self.store.is_exist(self._key(key)) == 1

    def batch_exists(self, keys, extra_info=None) -> int:
        return leading_hits(self.store.batch_is_exist([self._key(k) for k in keys]))

    # ---- zero-copy page interface (host memory pool, "interface_v1": 1) ----------------------------------------

    def batch_get_v1(self, keys, host_indices, extra_info=None) -> list:
        """Reads pages straight into the host pool: each key's object lands in its page's buffers (K then V)."""
        buffers = self._page_buffers(keys, host_indices)
        codes = self.store.batch_get_into_multi_buffers([self._key(k) for k in keys], buffers)
        return [c == sum(b.nbytes for b in page) for c, page in zip(codes, buffers)]

    def batch_set_v1(self, keys, host_indices, extra_info=None) -> list:
        buffers = self._page_buffers(keys, host_indices)
        return self._stored(keys, self.store.batch_put_from_multi_buffers([self._key(k) for k in keys], buffers))

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

    # ---- housekeeping ------------------------------------------------------------------------------------------

    def _stored(self, keys, codes) -> list:
        """Which puts stored their page; remembers the keys this backend owns for clear()."""
        ok = note_puts("sglang", codes)
        with self._written_lock:
            self._written.update(self._key(k) for k, good in zip(keys, ok) if good)
        return ok

    def clear(self) -> None:
        """Removes the pages this backend stored (SGLang's flush_cache); other instances' pages stay."""
        with self._written_lock:
            keys, self._written = list(self._written), set()
        for start in range(0, len(keys), 4096):
            self.store.batch_remove(keys[start:start + 4096], force=True)

    def close(self):
        self.store.close()


def _rank_suffix(config) -> str:
    """The model and this rank's place in it, as SGLang's own file backend names them."""
    model = (getattr(config, "model_name", None) or "").replace("/", "-")
    suffix = f"@{model}"
    if not getattr(config, "is_mla_model", False):
        suffix += f"/tp{getattr(config, 'tp_rank', 0)}of{getattr(config, 'tp_size', 1)}"
    if getattr(config, "pp_size", 1) > 1:
        suffix += f"/pp{config.pp_rank}of{config.pp_size}"
    if getattr(config, "attn_cp_size", 1) > 1:
        suffix += f"/cp{config.attn_cp_rank}of{config.attn_cp_size}"
    return suffix


def _nbytes(target, size) -> int:
    return size if size is not None else byte_view(target).nbytes


__all__ = ["CrescentHiCacheStorage", "ErrorCode"]
