"""Python transfer engine benchmark, the Python side of ``bin/bench transfer``.

``python -m crescent.engine_bench target <bytes>``: an engine serving one registered buffer; prints
``READY <session id> <address> <bytes>`` and runs until SIGTERM or SIGINT.
``python -m crescent.engine_bench run <session id> <address> <bytes> <seconds> <batch> <blocks KiB,...>``: for each
path (local: cross-memory attach, tcp) and block size, writes then reads batches of ``batch`` blocks, one batch in
flight, and prints path, op, block, GB/s and p50/p99 per batch in microseconds.
"""
import signal
import sys
import time

import numpy as np

from .engine import TransferEngine


def target(size: int):
    engine = TransferEngine()
    buffer = np.ones(size, dtype=np.uint8)  # touched, as a KV cache in use is: no page faults in the figures
    address = engine.register(buffer)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    print(f"READY {engine.session_id} {address} {size}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    engine.close()


def run(session: str, base: int, size: int, seconds: float, batch: int, blocks: list):
    print(f"{'path':<5} {'op':<5} {'block':>8} {'batch':>5} {'GB/s':>9} {'p50 us':>10} {'p99 us':>10}")
    for path, same_host in (("local", True), ("tcp", False)):
        with TransferEngine(same_host=same_host) as engine:
            if engine.path_to(session) != path:
                print(f"{path:<5} not available here")
                continue
            for block in blocks:
                local = np.full(block * batch, 7, dtype=np.uint8)
                for op in ("write", "read"):
                    move = engine.batch_write if op == "write" else engine.batch_read
                    measure(move, session, local, base, size, block, batch, seconds / 4)  # warm-up
                    rate, p50, p99 = measure(move, session, local, base, size, block, batch, seconds)
                    print(f"{path:<5} {op:<5} {block >> 10:>7}K {batch:>5} {rate:9.2f} {p50:10.1f} {p99:10.1f}",
                          flush=True)


def measure(move, session, local, base, size, block, batch, seconds):
    slots = max(1, size // block)
    locals_ = [local.ctypes.data + i * block for i in range(batch)]  # raw addresses, as the engines pass them
    lengths = [block] * batch
    latencies = []
    sequence = 0
    started = time.perf_counter()
    end = started + seconds
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        remotes = [base + ((sequence + i) % slots) * block for i in range(batch)]
        sequence += batch
        move(session, locals_, remotes, lengths)
        latencies.append(time.perf_counter() - now)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return (len(latencies) * batch * block / elapsed / 1e9, latencies[len(latencies) // 2] * 1e6,
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e6)


if __name__ == "__main__":
    if sys.argv[1] == "target":
        target(int(sys.argv[2]))
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]),
            [int(k) << 10 for k in sys.argv[7].split(",")])
