"""The buffered receiver both transfer ends read through (crescent/_sockets.py), over a real socket pair: a run of
messages (a small header, then a payload received straight into its destination) comes out whole and in order,
whether the sender writes the run in one call or dribbles it in pieces that split headers and payloads anywhere."""
import random
import socket
import struct
import threading

import pytest

from crescent import _sockets

HEADER = struct.Struct(">Q")


def messages(seed, count=200):
    rng = random.Random(seed)
    # Sizes around the receiver's 4 KiB buffer and well past it, and empty payloads.
    sizes = [rng.choice((0, 1, 31, 4095, 4096, 4097, 20_000, 65_536, 300_000)) for _ in range(count)]
    return [rng.randbytes(size) for size in sizes]


def wire(payloads) -> bytes:
    return b"".join(HEADER.pack(len(p)) + p for p in payloads)


def receive_all(connection, count):
    receiver = _sockets.Receiver(connection)
    received = []
    for _ in range(count):
        (length,) = HEADER.unpack(receiver.take(HEADER.size))
        payload = bytearray(length)
        receiver.read_into(memoryview(payload))
        received.append(bytes(payload))
    return received


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 10, 0))  # a lost byte fails, not hangs
    yield a, b
    a.close()
    b.close()


@pytest.mark.parametrize("pieces", ["whole", "dribbled"])
def test_a_run_of_messages_comes_out_whole_and_in_order(pair, pieces):
    sender, reader = pair
    payloads = messages(seed=len(pieces))
    data = wire(payloads)

    def send():
        if pieces == "whole":
            sender.sendall(data)
            return
        rng = random.Random(7)
        at = 0
        while at < len(data):  # cuts fall inside headers and payloads alike; the reader often waits mid-payload
            step = rng.randint(1, 70_000)
            sender.sendall(data[at:at + step])
            at += step

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    assert receive_all(reader, len(payloads)) == payloads
    thread.join(5)


def test_a_peer_that_closes_mid_payload_is_a_connection_error(pair):
    sender, reader = pair
    sender.sendall(HEADER.pack(10_000) + b"x" * 5_000)
    sender.close()
    with pytest.raises(ConnectionError):
        receive_all(reader, 1)


def test_a_peer_that_stalls_mid_payload_is_a_timeout(pair):
    sender, reader = pair
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200_000))
    sender.sendall(HEADER.pack(10_000) + b"x" * 5_000)
    with pytest.raises(_sockets.Timeout):
        receive_all(reader, 1)
