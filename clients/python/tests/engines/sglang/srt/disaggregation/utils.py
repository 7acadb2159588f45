"""Restates ``group_concurrent_contiguous`` of python/sglang/srt/disaggregation/utils.py (SGLang main, autumn
2026): splits two equally long index arrays where either side stops being consecutive."""
import numpy as np


def group_concurrent_contiguous(src_indices, dst_indices):
    src_indices, dst_indices = np.asarray(src_indices), np.asarray(dst_indices)
    if src_indices.size == 0:
        return [], []
    breaks = np.where((np.diff(src_indices) != 1) | (np.diff(dst_indices) != 1))[0] + 1
    return [g.tolist() for g in np.split(src_indices, breaks)], [g.tolist() for g in np.split(dst_indices, breaks)]
