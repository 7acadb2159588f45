"""The prefill side of a disaggregated-serving pair, in a process of its own: the restated vLLM or SGLang connector
code (tests/engines) over ``mooncake.engine``, driven by the tests over standard input and output (one JSON object
per line each way). The decode side runs in the test process; the metadata the engines' ZMQ side channels carry
travels over these pipes instead.

``pd_peer.py vllm <layers> <blocks>``: a kv_producer MooncakeConnectorWorker with blocks-first CPU KV caches;
``send`` runs send_kv_to_decode for the consumer's metadata.
``pd_peer.py sglang <layers> <pages>``: SGLang's MooncakeTransferEngine and a MooncakeKVManager with per-layer K and
V buffers and two aux buffers; ``send_kvcache`` and ``send_aux`` run the manager's methods.
Every cache holds ``fill(layer, block)`` (see below), so the decode side knows what each block must contain.
"""
import json
import sys

import torch

BLOCK_SHAPE = (2, 16, 2, 8)  # vLLM: [K/V, block_size, kv_heads, head_size] per block
PAGE_ELEMENTS = 16 * 2 * 8  # SGLang: one page of one layer's K (or V) buffer
AUX_ITEMS = ((8, 64), (4, 16))  # SGLang: (item count, item bytes) per aux buffer


def fill(layer: int, block: int, side: int = 0) -> float:
    """What producer block ``block`` of ``layer`` holds (``side`` 0 for K, 1 for V in SGLang's split buffers)."""
    return float(1 + layer * 1000 + block * 2 + side)


def vllm_caches(layers: int, blocks: int, producer: bool):
    caches = {}
    for layer in range(layers):
        cache = torch.zeros(blocks, *BLOCK_SHAPE)
        if producer:
            for block in range(blocks):
                cache[block] = fill(layer, block)
        caches[f"model.layers.{layer}.self_attn.attn"] = cache
    return caches


def sglang_buffers(layers: int, pages: int, producer: bool):
    """K buffers of every layer, then V buffers (SGLang's MHA kv_data_ptrs order), and the aux buffers."""
    kv = []
    for side in (0, 1):
        for layer in range(layers):
            buffer = torch.zeros(pages, PAGE_ELEMENTS)
            if producer:
                for page in range(pages):
                    buffer[page] = fill(layer, page, side)
            kv.append(buffer)
    aux = []
    for number, (count, item_bytes) in enumerate(AUX_ITEMS):
        buffer = torch.zeros(count, item_bytes, dtype=torch.uint8)
        if producer:
            for item in range(count):
                buffer[item] = (number * 50 + item + 1) % 256
        aux.append(buffer)
    return kv, aux


def main(argv):
    engine, layers, blocks = argv[0], int(argv[1]), int(argv[2])
    if engine == "vllm":
        from vllm.distributed.kv_transfer.kv_connector.v1.mooncake.mooncake_connector import MooncakeConnectorWorker
        worker = MooncakeConnectorWorker("127.0.0.1", "kv_producer")
        caches = vllm_caches(layers, blocks, True)
        worker.register_kv_caches(caches)
        answer({"session": f"127.0.0.1:{worker.rpc_port}"})
        for line in sys.stdin:
            command = json.loads(line)
            answer({"ret": worker.send_kv_to_decode(command["meta"], command["local_block_ids"])})
    else:
        from sglang.srt.disaggregation.mooncake.conn import MooncakeKVManager
        from sglang.srt.distributed.device_communicators.mooncake_transfer_engine import MooncakeTransferEngine
        kv, aux = sglang_buffers(layers, blocks, True)
        manager = MooncakeKVManager(kv_args(kv, aux), MooncakeTransferEngine("127.0.0.1", 0, None))
        answer({"session": manager.engine.get_session_id()})
        for line in sys.stdin:
            command = json.loads(line)
            if command["do"] == "send_kvcache":
                ret = manager.send_kvcache(command["session"], command["prefill"], command["dst_ptrs"],
                                           command["dst"])
            else:
                ret = manager.send_aux(command["session"], command["prefill_aux_index"], command["dst_aux_ptrs"],
                                       command["dst_aux_index"])
            answer({"ret": ret})


def kv_args(kv, aux):
    from sglang.srt.disaggregation.mooncake.conn import KVArgs
    return KVArgs([b.data_ptr() for b in kv], [nbytes(b) for b in kv], [nbytes(b[0]) for b in kv],
                  [b.data_ptr() for b in aux], [nbytes(b) for b in aux], [nbytes(b[0]) for b in aux])


def nbytes(tensor) -> int:
    return tensor.numel() * tensor.element_size()


def answer(reply):
    print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
