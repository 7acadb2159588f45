"""Python client benchmark, driven like the Java store benchmark (StoreBenchMain) so the rows compare:
``python -m crescent.bench <master> <tcp|shm> <put|get|batch-put|batch-get> <value bytes> <threads> <seconds> <keys>
[wire|grpc] [keys per batch]`` (how master calls travel, the wire protocol by default; 16 keys per batch by default).

Puts overwrite a fixed key space in place (upsert_from), gets read random keys of it (get_into); batches do the same
for a run of keys per call (batch_upsert_from, batch_get_into; each thread puts only runs of its own share of the
keys). Each thread has its own numpy buffers. Prints one row: target, phase, value size, threads, keys/s, GB/s,
p50/p99 per call in us (a batch is one call).
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
    batch = int(argv[8]) if len(argv) > 8 else 16
    store = CrescentStore()
    code = store.setup(master, protocol="auto" if transport == "shm" else "tcp", master_transport=master_transport)
    if code != 0:
        raise SystemExit(f"cannot connect to {master}: {code}")
    names = [f"bench/py/{size}/{i}" for i in range(keys)]
    fill = np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8)
    for name in names:
        if store.upsert_from(name, fill) != 0:
            raise SystemExit(f"fill of {name} failed")
    warm_up(store, phase, names, size, threads, seconds, batch)
    ops, elapsed, latencies = run(store, phase, names, size, threads, seconds, batch)
    latencies.sort()
    rate = ops * (batch if phase.startswith("batch-") else 1) / elapsed
    label = "py-" + transport + ("" if master_transport == "wire" else "/grpc")
    print(f"{label:<6} {phase:<9} {human(size):>8} {threads:4d} {rate:12.0f} {rate * size / 1e9:8.2f} "
          f"{percentile(latencies, 0.50):9.1f} {percentile(latencies, 0.99):9.1f}")
    store.close()


def warm_up(store, phase, names, size, threads, seconds, batch):
    """Runs until throughput stops rising, by the rule of the Java rows (StoreBenchMain.warmUp): windows of
    max(2 s, the cell's length), at least three, done when one is less than 5 % faster than the one before, or
    after 45 s. The server's JIT is what warms here."""
    window, limit, previous, windows = max(2.0, seconds), time.monotonic() + 45, 0.0, 0
    while True:
        windows += 1
        ops, elapsed, _ = run(store, phase, names, size, threads, window, batch)
        rate = ops / elapsed
        if windows >= 3 and rate < previous * 1.05 or time.monotonic() > limit:
            return
        previous = rate


def run(store, phase, names, size, threads, seconds, batch):
    stop = time.monotonic() + seconds
    results = []
    share = len(names) // threads  # batch puts: thread n writes only names[n * share:(n + 1) * share]

    def call(buffers, pick, n):
        if phase in ("put", "get"):
            name = names[pick.randrange(len(names))]
            code = store.upsert_from(name, buffers[0]) if phase == "put" else store.get_into(name, buffers[0])
            return [code], name
        if phase == "batch-put":
            first = n * share + pick.randrange(max(1, share - batch + 1))
            run_names = names[first:first + batch]
            return store.batch_upsert_from(run_names, buffers[:len(run_names)]), run_names[0]
        first = pick.randrange(max(1, len(names) - batch + 1))
        run_names = names[first:first + batch]
        return store.batch_get_into(run_names, buffers[:len(run_names)]), run_names[0]

    def worker(n):
        rng = np.random.default_rng(n)
        buffers = [rng.integers(0, 255, size, dtype=np.uint8) for _ in range(batch if phase.startswith("batch-") else 1)]
        pick = random.Random(n)
        latencies = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            codes, name = call(buffers, pick, n)
            latencies.append((time.perf_counter() - start) * 1e6)
            if min(codes) < 0:
                raise SystemExit(f"{phase} from {name} failed: {codes}")
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
