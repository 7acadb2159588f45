"""Starts a real Crescent standalone server (the packaged jar, on a free port) for the whole test session.

Set CRESCENT_TEST_MASTER=host:port to test against a server that is already running instead.
"""
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from crescent import CrescentStore
from crescent.master import with_trailing

REPO = Path(__file__).resolve().parents[3]
# The engines' interfaces, restated (see engines/README.md): `import vllm` and friends resolve there.
sys.path.insert(0, str(Path(__file__).resolve().parent / "engines"))
# The first address listed: the plain HTTP port, or the TLS port of a server that serves TLS only.
LISTENING = re.compile(r"Listening on: https?://[^:]+:(\d+)")


def _service_command(*options):
    """The native executable when CRESCENT_RUNNER names one (bin/test's native pass), else the packaged jar."""
    runner = os.environ.get("CRESCENT_RUNNER")
    if runner:
        if not os.access(runner, os.X_OK):
            pytest.exit(f"{runner} is missing: build it first (./mvnw package -Dnative)", returncode=2)
        return [runner, *options]
    jar = Path(os.environ.get("CRESCENT_JAR", REPO / "target/quarkus-app/quarkus-run.jar"))
    if not jar.exists():
        pytest.exit(f"{jar} is missing: build it first (./mvnw package -DskipTests)", returncode=2)
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin/java") if java_home else "java"
    return [java, "--enable-native-access=ALL-UNNAMED", *options, "-jar", str(jar)]


class CrescentServer:
    def __init__(self, *properties):
        self.log = []
        self.process = subprocess.Popen(_service_command("-Dquarkus.http.port=0", *properties),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._port = None
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(90) or self._port is None:
            self.stop()
            raise RuntimeError("Crescent did not start:\n" + "".join(self.log[-40:]))
        self.address = f"localhost:{self._port}"

    def _drain(self):
        for line in self.process.stdout:
            self.log.append(line)
            match = LISTENING.search(line)
            if match and self._port is None:
                self._port = int(match.group(1))
                self._ready.set()
        self._ready.set()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def server_address():
    existing = os.environ.get("CRESCENT_TEST_MASTER")
    if existing:
        yield existing
        return
    server = CrescentServer("-Dcrescent.worker.segment-size=256M")
    yield server.address
    server.stop()


@pytest.fixture(params=[("auto", "auto"), ("tcp", "auto"), ("auto", "grpc")], ids=["shm", "tcp", "grpc-master"])
def store(request, server_address):
    """A store per test: bytes over shared memory ("auto": the server is on this host) and over TCP, master calls
    over the wire protocol (what "auto" picks) and over gRPC."""
    protocol, master_transport = request.param
    s = CrescentStore()
    assert s.setup(server_address, protocol=protocol, master_transport=master_transport) == 0
    yield s
    s.close()


@pytest.fixture
def key():
    """A key prefix of this test's own, so tests never see each other's objects."""
    return f"pytest/{uuid.uuid4().hex[:12]}/"


class CountedStore:
    """A store whose master calls are counted by method (``calls``), with every PutStart request kept (``starts``), and
    every BatchPutStart request (``batch_starts``), each as sent: with the fields encoded after it (values) merged in."""

    def __init__(self, address, **options):
        self.store = CrescentStore()
        assert self.store.setup(address, **options) == 0
        self.calls = {}
        self.starts = []
        self.batch_starts = []
        call = self.store._master.call

        def counted(method, request, *rest):
            self.calls[method] = self.calls.get(method, 0) + 1
            if method in ("PutStart", "BatchPutStart"):
                trailing = rest[0] if rest else ()
                (self.starts if method == "PutStart" else self.batch_starts).append(with_trailing(request, trailing))
            return call(method, request, *rest)
        self.store._master.call = counted

    @property
    def located(self) -> int:
        """Master calls that located objects."""
        return self.calls.get("GetReplicaList", 0) + self.calls.get("BatchGetReplicaList", 0)

    def close(self):
        self.store.close()


def wait_until(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def full_store(server_address, key):
    """Fills the server with hard-pinned objects (never evicted) until even 4 KiB no longer fits, then frees it."""
    from crescent import ErrorCode, ReplicateConfig
    filler = CrescentStore()
    assert filler.setup(server_address) == 0
    pinned = ReplicateConfig(with_hard_pin=True)
    keys = []
    for size in (16 << 20, 1 << 20, 64 << 10, 4 << 10):
        block = bytearray(size)
        while True:
            name = f"{key}fill{len(keys)}"
            code = filler.put_from(name, block, config=pinned)
            if code == ErrorCode.NO_AVAILABLE_HANDLE:
                break
            assert code == 0
            keys.append(name)
    yield
    assert filler.batch_remove(keys, force=True) == [0] * len(keys)
    filler.close()
