"""Python client benchmark, driven like the Java store benchmark (StoreBenchMain) so the rows compare:
``python -m crescent.bench <master> <tcp|shm> <put|get> <value bytes> <threads> <seconds> <keys> [wire|grpc]``
(the last argument: how master calls travel, the wire protocol by default).

Puts overwrite a fixed key space in place (upsert_from), gets read random keys of it (get_into); each thread has
its own numpy buffers. Prints one row: target, phase, value size, threads, ops/s, GB/s, p50/p99 per call in us.
"""
import random
import sys
import threading
import time

import numpy as np

from .store import CrescentStore


def main(argv):
    master, transport, phase = argv[0], argv[1], argv[2]
    size, threads, seconds, keys = int(argv[3]), int(argv[4]), float(argv[5]), int(argv[6])
    master_transport = argv[7] if len(argv) > 7 else "wire"
    store = CrescentStore()
    code = store.setup(master, protocol="auto" if transport == "shm" else "tcp", master_transport=master_transport)
    if code != 0:
        raise SystemExit(f"cannot connect to {master}: {code}")
    names = [f"bench/py/{size}/{i}" for i in range(keys)]
    fill = np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8)
    for name in names:
        if store.upsert_from(name, fill) != 0:
            raise SystemExit(f"fill of {name} failed")
    warm_up(store, phase, names, size, threads, seconds)
    ops, elapsed, latencies = run(store, phase, names, size, threads, seconds)
    latencies.sort()
    rate = ops / elapsed
    label = "py-" + transport + ("" if master_transport == "wire" else "/grpc")
    print(f"{label:<6} {phase:<9} {human(size):>8} {threads:4d} {rate:12.0f} {rate * size / 1e9:8.2f} "
          f"{percentile(latencies, 0.50):9.1f} {percentile(latencies, 0.99):9.1f}")
    store.close()


def warm_up(store, phase, names, size, threads, seconds):
    """Runs until throughput stops rising, by the rule of the Java rows (StoreBenchMain.warmUp): windows of
    max(2 s, the cell's length), at least three, done when one is less than 5 % faster than the one before, or
    after 45 s. The server's JIT is what warms here."""
    window, limit, previous, windows = max(2.0, seconds), time.monotonic() + 45, 0.0, 0
    while True:
        windows += 1
        ops, elapsed, _ = run(store, phase, names, size, threads, window)
        rate = ops / elapsed
        if windows >= 3 and rate < previous * 1.05 or time.monotonic() > limit:
            return
        previous = rate


def run(store, phase, names, size, threads, seconds):
    stop = time.monotonic() + seconds
    results = []

    def worker(n):
        buffer = np.random.default_rng(n).integers(0, 255, size, dtype=np.uint8)
        pick = random.Random(n)
        latencies = []
        while time.monotonic() < stop:
            name = names[pick.randrange(len(names))]
            start = time.perf_counter()
            code = store.upsert_from(name, buffer) if phase == "put" else store.get_into(name, buffer)
            latencies.append((time.perf_counter() - start) * 1e6)
            if code < 0:
                raise SystemExit(f"{phase} of {name} failed: {code}")
        results.append(latencies)

    began = time.monotonic()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    merged = [x for r in results for x in r]
    return len(merged), time.monotonic() - began, merged


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] if sorted_values else 0.0


def human(size):
    return f"{size >> 20}M" if size >= 1 << 20 else f"{size >> 10}K"


if __name__ == "__main__":
    main(sys.argv[1:])
