"""Restates the block hashing of vllm/v1/core/kv_cache_utils.py and vllm/v1/request.py (vLLM main, autumn 2026):
``Request.block_hashes`` holds one hash per full block, each chained from its parent's, with the block's extra keys
(multimodal inputs overlapping it, the LoRA adapter's name, ``cache_salt`` on the first block only, and a hash of
prompt embeddings). The chain's seed comes from PYTHONHASHSEED, random per process when it is unset."""
import hashlib
import os
import pickle

NONE_HASH = hashlib.sha256(os.environ["PYTHONHASHSEED"].encode()).digest() if "PYTHONHASHSEED" in os.environ \
    else os.urandom(32)


def hash_block_tokens(parent: bytes | None, tokens, extra_keys) -> bytes:
    return hashlib.sha256(pickle.dumps((parent or NONE_HASH, tuple(tokens), extra_keys))).digest()


def block_hashes(block_size, token_ids, num_tokens, mm_features=(), lora_name=None, cache_salt=None,
                 prompt_embeds_hash=None) -> list:
    hashes, parent = [], None
    for index, start in enumerate(range(0, num_tokens - block_size + 1, block_size)):
        end = start + block_size
        extra = [m["identifier"] for m in mm_features if m["offset"] < end and m["offset"] + m["length"] > start]
        if lora_name:
            extra.append(lora_name)
        if cache_salt and index == 0:
            extra.append(cache_salt)
        if prompt_embeds_hash:
            extra.append(prompt_embeds_hash)
        tokens = token_ids[start:end] if token_ids is not None else ()
        parent = hash_block_tokens(parent, tokens, tuple(extra) or None)
        hashes.append(parent)
    return hashes
