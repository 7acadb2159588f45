"""Restates the host KV pool of python/sglang/srt/mem_cache/memory_pool_host.py (SGLang main, autumn 2026) in its
``page_first`` layout: kv_buffer [2, size, layer_num, head_num, head_dim] (MHA) or [size, layer_num, 1, dim]
(MLA); a page's K (and V) of every layer is contiguous, and ``get_page_buffer_meta`` gives each page's addresses
and byte sizes in page order, K then V."""
import torch


class HostKVCache:
    def __init__(self, size, page_size, layer_num, head_num, head_dim, mla=False, dtype=torch.float16):
        self.size, self.page_size, self.layout, self.dtype = size, page_size, "page_first", dtype
        shape = (size, layer_num, 1, head_dim) if mla else (2, size, layer_num, head_num, head_dim)
        self.kv_buffer = torch.zeros(shape, dtype=dtype)
        self.mla = mla

    def _parts(self):
        return [self.kv_buffer] if self.mla else [self.kv_buffer[0], self.kv_buffer[1]]

    def get_page_buffer_meta(self, indices):
        addresses, sizes = [], []
        for index in indices[::self.page_size].tolist():
            for part in self._parts():
                page = part[index:index + self.page_size]
                addresses.append(page.data_ptr())
                sizes.append(page.numel() * page.element_size())
        return addresses, sizes

    # The generic (copying) page path.
    def get_dummy_flat_data_page(self):
        return torch.zeros(sum(p[0:self.page_size].numel() for p in self._parts()), dtype=self.dtype)

    def get_data_page(self, index, flat=True):
        return torch.cat([p[index:index + self.page_size].flatten() for p in self._parts()])

    def set_from_flat_data_page(self, index, data_page):
        offset = 0
        for part in self._parts():
            page = part[index:index + self.page_size]
            page.copy_(data_page[offset:offset + page.numel()].view_as(page))
            offset += page.numel()
