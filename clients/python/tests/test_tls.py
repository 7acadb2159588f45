"""The Python client against a server with mutual TLS and access control on: the master takes the node name from
the client certificate's subject CN (over the wire protocol, its port announcement, and gRPC); a name the client
only states, or a certificate the server's authority did not sign, gets nothing. The server's transfer port speaks
TLS too (crescent.transfer.tcp.tls), so the client's TCP transfers go over TLS."""
import subprocess

import pytest

from conftest import CrescentServer
from crescent import ClientTls, CrescentStore, ErrorCode


def _openssl(directory, *arguments):
    subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)


class _Authority:
    """A throwaway CA made with the openssl command; certificates name localhost and 127.0.0.1."""

    def __init__(self, directory, name):
        self.directory, self.name = directory, name
        self.certificate = str(directory / f"{name}.crt")
        _openssl(directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}.key", "-out", self.certificate, "-days", "2", "-subj", f"/CN={name}")

    def issue(self, common_name):
        base = self.directory / f"{self.name}-{common_name}"
        base.with_suffix(".ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                            "extendedKeyUsage=serverAuth,clientAuth\n")
        _openssl(self.directory, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 f"{base}.key", "-out", f"{base}.csr", "-subj", f"/CN={common_name}")
        _openssl(self.directory, "x509", "-req", "-in", f"{base}.csr", "-CA", self.certificate, "-CAkey",
                 f"{self.name}.key", "-CAcreateserial", "-out", f"{base}.crt", "-days", "2", "-extfile",
                 f"{base}.ext")
        return ClientTls(trusted=self.certificate, certificate=f"{base}.crt", key=f"{base}.key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return _Authority(tmp_path_factory.mktemp("pki"), "crescent-ca")


@pytest.fixture(scope="module")
def tls_address(pki):
    server_tls = pki.issue("localhost")
    server = CrescentServer("-Dquarkus.http.ssl-port=0", "-Dquarkus.http.insecure-requests=disabled",
                            f"-Dquarkus.tls.key-store.pem.0.cert={server_tls.certificate}",
                            f"-Dquarkus.tls.key-store.pem.0.key={server_tls.key}",
                            f"-Dquarkus.tls.trust-store.pem.certs={pki.certificate}",
                            "-Dcrescent.transfer.tcp.tls=true",  # the TCP transfers below are TLS too
                            "-Dcrescent.access.enabled=true",
                            "-Dcrescent.access.rules.infer.nodes=infer-1",
                            "-Dcrescent.access.rules.infer.prefixes=llama/",
                            "-Dcrescent.access.rules.infer.rights=read,write")
    yield server.address
    server.stop()


def _store(address, tls, name, transport):
    store = CrescentStore()
    assert store.setup(address, local_hostname=name, protocol="tcp", master_transport=transport, tls=tls,
                       failover_window=1.0) == 0
    return store


@pytest.mark.parametrize("transport", ["wire", "grpc"])
def test_a_certified_client_reads_and_writes_under_its_certificates_name(pki, tls_address, transport):
    store = _store(tls_address, pki.issue("infer-1"), "stated-name-is-ignored", transport)
    try:
        value = b"kv over mutual tls " * 300
        assert store.put(f"llama/py-tls-{transport}", value) == 0
        assert store.get(f"llama/py-tls-{transport}") == value
        assert store.batch_get([f"llama/py-tls-{transport}"]) == [value]  # the wire's batch port speaks TLS too
        assert store.put(f"mistral/py-tls-{transport}", value) == ErrorCode.PERMISSION_DENIED
    finally:
        store.close()


@pytest.mark.parametrize("transport", ["wire", "grpc"])
def test_a_stated_name_gets_nothing(pki, tls_address, transport):
    anonymous = ClientTls(trusted=pki.certificate)  # TLS, but no certificate of its own: only a stated name
    intruder = pki.issue("intruder")  # a certificate of its own, stating another node's name
    for tls in (anonymous, intruder):
        store = _store(tls_address, tls, "infer-1", transport)
        try:
            assert store.put(f"llama/py-claimed-{transport}", b"x" * 64) == ErrorCode.PERMISSION_DENIED
        finally:
            store.close()


def test_a_certificate_of_another_authority_is_refused_at_the_handshake(tmp_path, tls_address):
    forged = _Authority(tmp_path, "rogue-ca").issue("infer-1")
    store = CrescentStore()
    code = store.setup(tls_address, local_hostname="infer-1", protocol="tcp", tls=forged, failover_window=1.0)
    assert code in (ErrorCode.RPC_FAIL, ErrorCode.RPC_TIMEOUT), code
