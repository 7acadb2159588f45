"""Mooncake's Python store API over Crescent: ``MooncakeDistributedStore`` with Mooncake's method names, positional
argument order and return conventions (0 or a size on success, a negative error number on failure; ``is_exist`` 1/0;
``get`` bytes, empty on failure), so the Mooncake integrations that vLLM, SGLang and LMCache ship run on Crescent.
Install the ``crescent-mooncake-shim`` distribution (clients/python/mooncake-shim) to make this importable as
``mooncake.store``; then point the integration's master address at a Crescent master (``host:port`` of its HTTP
port, which also serves gRPC).

What differs from Mooncake, on purpose:
- ``setup`` contributes no memory: Crescent's workers hold the pool, so ``global_segment_size`` is accepted and
  ignored; ``metadata_server`` too (Crescent keeps its metadata in the master). ``protocol`` "rdma" moves bytes over
  shared memory on the same host and TCP elsewhere, as "tcp" does (the Python client has no RDMA path).
- ``register_buffer`` is not needed (shared memory and TCP read and write any address) and answers 0.
- Methods of Mooncake's that Crescent does not implement answer ``UNSUPPORTED`` (-1200) or, where Mooncake answers
  a list, a list of it; none raises. They are listed in ``UNSUPPORTED_METHODS``.

Restated from Mooncake's ``mooncake-integration/store/store_py.cpp`` (main, autumn 2026).
"""
import ctypes
import functools
import socket

import torch

from . import tensor_header
from .buffers import address_view
from .errors import CrescentError, ErrorCode
from .store import CrescentStore
from .store import ReplicateConfig as _CrescentReplicateConfig

UNSUPPORTED = int(ErrorCode.UNSUPPORTED)
_CRESCENT_SETUP_OPTIONS = ("call_timeout", "transfer_timeout", "failover_window", "replica_num", "master_transport")

UNSUPPORTED_METHODS = (
    "setup_dummy", "init_all", "alloc_from_mem_pool", "remove_by_regex", "put_from_with_metadata",
    "put_tensor_chunk_with_tp", "batch_put_tensor_chunk_with_tp", "get_replica_desc", "batch_get_replica_desc",
    "mount_segment", "unmount_segment", "allocate_and_mount_segment",
)


class ReplicateConfig:
    """Mooncake's ReplicateConfig fields. ``preferred_segment(s)`` name Crescent segments (unknown names are
    ignored by the master); ``prefer_alloc_in_same_node`` has no Crescent meaning and is ignored."""

    def __init__(self):
        self.replica_num = 1
        self.with_soft_pin = False
        self.preferred_segments = []
        self.preferred_segment = ""
        self.prefer_alloc_in_same_node = False

    def to_crescent(self) -> _CrescentReplicateConfig:
        preferred = list(self.preferred_segments) + ([self.preferred_segment] if self.preferred_segment else [])
        return _CrescentReplicateConfig(replica_num=self.replica_num, preferred_segments=preferred,
                                        with_soft_pin=self.with_soft_pin)


class BufferHandle(bytearray):
    """An object's bytes with Mooncake's BufferHandle methods; it is also a buffer (memoryview, torch.frombuffer)."""

    def ptr(self) -> int:
        return ctypes.addressof(ctypes.c_char.from_buffer(self)) if self else 0

    def size(self) -> int:
        return len(self)


def _never_raises(method):
    """Bad arguments (mismatched lists, a null address) answer INVALID_PARAMS like the rest of the API: an int,
    or one per key for batch methods (whose first argument is the key list)."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (CrescentError, ValueError, TypeError) as e:
            code = int(e.code) if isinstance(e, CrescentError) else int(ErrorCode.INVALID_PARAMS)
            return [code] * len(args[0]) if method.__name__.startswith("batch_") else code
    return guarded


class MooncakeDistributedStore:
    def __init__(self):
        self._store = CrescentStore()
        self._hostname = socket.gethostname()

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def setup(self, local_hostname, metadata_server, global_segment_size=16 << 20, local_buffer_size=16 << 20,
              protocol="tcp", rdma_devices="", master_server_addr="127.0.0.1:50051", engine=None,
              **crescent_options) -> int:
        """Mooncake's arguments; keyword arguments Mooncake does not have go to CrescentStore.setup (for example
        ``failover_window``, how long calls wait for an HA master to come back)."""
        self._hostname = str(local_hostname).rsplit(":", 1)[0] if local_hostname else socket.gethostname()
        crescent_options = {k: v for k, v in crescent_options.items() if k in _CRESCENT_SETUP_OPTIONS}
        return self._store.setup(master_server_addr, local_hostname=self._hostname, protocol="auto",
                                 **crescent_options)

    def close(self) -> int:
        return self._store.close()

    def get_hostname(self) -> str:
        return self._hostname

    def register_buffer(self, buffer_ptr, size) -> int:
        return 0

    def unregister_buffer(self, buffer_ptr) -> int:
        return 0

    # ---- bytes -----------------------------------------------------------------------------------------------

    def put(self, key, value, config=None) -> int:
        return self._store.put(key, value, _config(config))

    def put_parts(self, key, *parts, config=None) -> int:
        return self._store.put_parts(key, *parts, config=_config(config))

    def put_batch(self, keys, values, config=None) -> int:
        codes = self._store.batch_put(keys, values, _config(config))
        return next((c for c in codes if c != 0), 0)

    def get(self, key) -> bytes:
        return self._store.get(key)

    def get_batch(self, keys) -> list:
        return self._store.batch_get(keys)

    def get_buffer(self, key):
        value = self._store.get(key)
        return BufferHandle(value) if value or self._store.get_size(key) == 0 else None

    def batch_get_buffer(self, keys) -> list:
        return [BufferHandle(v) if v else None for v in self._store.batch_get(keys)]

    # ---- raw addresses ---------------------------------------------------------------------------------------

    @_never_raises
    def put_from(self, key, buffer_ptr, size, config=None) -> int:
        return self._store.put_from(key, address_view(buffer_ptr, size), config=_config(config))

    @_never_raises
    def get_into(self, key, buffer_ptr, size) -> int:
        return self._store.get_into(key, address_view(buffer_ptr, size))

    @_never_raises
    def batch_put_from(self, keys, buffer_ptrs, sizes, config=None) -> list:
        return self._store.batch_put_from(keys, _views(buffer_ptrs, sizes), config=_config(config))

    @_never_raises
    def batch_get_into(self, keys, buffer_ptrs, sizes) -> list:
        return self._store.batch_get_into(keys, _views(buffer_ptrs, sizes))

    @_never_raises
    def batch_put_from_multi_buffers(self, keys, all_buffer_ptrs, all_sizes, config=None) -> list:
        return self._store.batch_put_from_multi_buffers(keys, _view_lists(all_buffer_ptrs, all_sizes),
                                                        config=_config(config))

    @_never_raises
    def batch_get_into_multi_buffers(self, keys, all_buffer_ptrs, all_sizes, prefer_alloc_in_same_node=False) -> list:
        return self._store.batch_get_into_multi_buffers(keys, _view_lists(all_buffer_ptrs, all_sizes))

    # ---- keys ------------------------------------------------------------------------------------------------

    def is_exist(self, key) -> int:
        return self._store.is_exist(key)

    def batch_is_exist(self, keys) -> list:
        """1 when present, 0 when not, -1 when the master could not tell (Mooncake's convention)."""
        return [c if c in (0, 1) else -1 for c in self._store.batch_is_exist(keys)]

    def get_size(self, key) -> int:
        return self._store.get_size(key)

    def remove(self, key, force=False) -> int:
        return self._store.remove(key, force)

    def remove_all(self, force=False) -> int:
        return self._store.remove_all(force)

    # ---- tensors ---------------------------------------------------------------------------------------------

    def put_tensor(self, key, tensor) -> int:
        return self.pub_tensor(key, tensor)

    @_never_raises
    def pub_tensor(self, key, tensor, config=None) -> int:
        data = tensor.detach().to("cpu").contiguous()
        return self._store.put_parts(key, tensor_header.encode(data.shape, data.dtype), data.view(-1).view(torch.uint8),
                                     config=_config(config))

    def get_tensor(self, key):
        value = self._store.get(key)
        try:
            return tensor_header.tensor_of(value) if value else None
        except ValueError:
            return None

    def batch_put_tensor(self, keys, tensors_list) -> list:
        return self.batch_pub_tensor(keys, tensors_list)

    def batch_pub_tensor(self, keys, tensors_list, config=None) -> list:
        if len(keys) != len(tensors_list):
            return [int(ErrorCode.INVALID_PARAMS)] * len(keys)
        return [self.pub_tensor(k, t, config) for k, t in zip(keys, tensors_list)]

    def batch_get_tensor(self, keys) -> list:
        return [self.get_tensor(k) for k in keys]

    @_never_raises
    def get_tensor_into(self, key, buffer_ptr, size):
        """Reads the stored tensor (header and bytes) into the buffer; answers a tensor over the buffer's bytes,
        or None."""
        code = self._store.get_into(key, address_view(buffer_ptr, size))
        if code < tensor_header.HEADER_BYTES:
            return None
        view = address_view(buffer_ptr, code)
        try:
            shape, dtype, _ = tensor_header.decode(view)
        except ValueError:
            return None
        data = view[tensor_header.HEADER_BYTES:]
        return torch.frombuffer(data, dtype=dtype).reshape(shape) if data.nbytes else torch.empty(shape, dtype=dtype)

    def batch_get_tensor_into(self, keys, buffer_ptrs, sizes) -> list:
        return [self.get_tensor_into(k, p, s) for k, p, s in zip(keys, buffer_ptrs, sizes)]

    def put_tensor_with_tp(self, key, tensor, tp_rank=0, tp_size=1, split_dim=0) -> int:
        return self.pub_tensor_with_tp(key, tensor, None, tp_rank, tp_size, split_dim)

    def pub_tensor_with_tp(self, key, tensor, config=None, tp_rank=0, tp_size=1, split_dim=0) -> int:
        """Splits the tensor into ``tp_size`` shards along ``split_dim``, stored as ``<key>_tp_<rank>``."""
        if tp_size <= 1:
            return self.pub_tensor(key, tensor, config)
        for rank, shard in enumerate(torch.chunk(tensor, tp_size, dim=split_dim)):
            code = self.pub_tensor(f"{key}_tp_{rank}", shard, config)
            if code != 0:
                return code
        return 0

    def get_tensor_with_tp(self, key, tp_rank=0, tp_size=1, split_dim=0):
        return self.get_tensor(key if tp_size <= 1 else f"{key}_tp_{tp_rank}")

    def batch_put_tensor_with_tp(self, base_keys, tensors_list, tp_rank=0, tp_size=1, split_dim=0) -> list:
        return [self.put_tensor_with_tp(k, t, tp_rank, tp_size, split_dim) for k, t in zip(base_keys, tensors_list)]

    def batch_pub_tensor_with_tp(self, base_keys, tensors_list, config=None, tp_rank=0, tp_size=1,
                                 split_dim=0) -> list:
        return [self.pub_tensor_with_tp(k, t, config, tp_rank, tp_size, split_dim)
                for k, t in zip(base_keys, tensors_list)]

    def batch_get_tensor_with_tp(self, base_keys, tp_rank=0, tp_size=1, split_dim=0) -> list:
        return [self.get_tensor_with_tp(k, tp_rank, tp_size, split_dim) for k in base_keys]

    def get_tensor_with_tp_into(self, key, buffer_ptr, size, tp_rank=0, tp_size=1, split_dim=0):
        return self.get_tensor_into(key if tp_size <= 1 else f"{key}_tp_{tp_rank}", buffer_ptr, size)

    def batch_get_tensor_with_tp_into(self, base_keys, buffer_ptrs, sizes, tp_rank=0, tp_size=1,
                                      split_dim=0) -> list:
        return [self.get_tensor_with_tp_into(k, p, s, tp_rank, tp_size, split_dim)
                for k, p, s in zip(base_keys, buffer_ptrs, sizes)]

    # ---- what Crescent does not implement --------------------------------------------------------------------

    def __getattr__(self, name):
        if name in UNSUPPORTED_METHODS:
            return lambda *args, **kwargs: UNSUPPORTED
        raise AttributeError(f"MooncakeDistributedStore has no attribute {name!r}")


def _config(config):
    if config is None:
        return None
    return config.to_crescent() if isinstance(config, ReplicateConfig) else config


def _views(pointers, sizes) -> list:
    return [address_view(p, s) for p, s in zip(pointers, sizes, strict=True)]


def _view_lists(all_pointers, all_sizes) -> list:
    """One list of views per key, from Mooncake's per-key lists of addresses and sizes."""
    return [_views(p, s) for p, s in zip(all_pointers, all_sizes, strict=True)]
