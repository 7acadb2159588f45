"""A Python transfer engine in a process of its own, driven by the tests over its standard input and output (one
JSON object per line each way), so every transfer in the engine tests crosses a process boundary for real.

Started as ``engine_peer.py <hostname> <buffer bytes> <fill byte> [master address] [name]``: registers one buffer
filled with the byte and prints ``{"session", "address", "name"}``. Then answers commands:
``digest`` (sha256 of the buffer), ``slice`` (hex of a range), ``fill`` (set a range), ``unregister``,
``write``/``read`` (this peer initiates a transfer of a range of its buffer to or from another engine), ``path``.
"""
import hashlib
import json
import sys

import numpy as np

from crescent.engine import TransferEngine
from crescent.errors import CrescentError


def main(argv):
    hostname, size, fill = argv[0], int(argv[1]), int(argv[2])
    store = None
    if len(argv) > 3:
        from crescent import CrescentStore
        store = CrescentStore()
        assert store.setup(argv[3]) == 0
    engine = TransferEngine(hostname, metadata=store, name=argv[4] if len(argv) > 4 else None)
    buffer = np.full(size, fill, dtype=np.uint8)
    address = engine.register(buffer)
    answer({"session": engine.session_id, "address": address, "name": engine.name})
    for line in sys.stdin:
        command = json.loads(line)
        try:
            answer(run(engine, buffer, address, command))
        except CrescentError as e:
            answer({"code": int(e.code), "message": e.message})
    engine.close()
    if store is not None:
        store.close()


def run(engine, buffer, address, command):
    what = command["do"]
    if what == "digest":
        return {"digest": hashlib.sha256(buffer.tobytes()).hexdigest()}
    if what == "slice":
        return {"hex": buffer[command["offset"]:command["offset"] + command["length"]].tobytes().hex()}
    if what == "fill":
        buffer[command["offset"]:command["offset"] + command["length"]] = command["byte"]
        return {"code": 0}
    if what == "unregister":
        engine.unregister(address)
        return {"code": 0}
    if what == "path":
        return {"path": engine.path_to(command["target"])}
    if what in ("write", "read"):
        offset, length = command["offset"], command["length"]
        move = engine.write if what == "write" else engine.read
        move(command["target"], address + offset, command["remote"], length)
        return {"code": 0}
    raise ValueError(f"unknown command {what}")


def answer(reply):
    print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
