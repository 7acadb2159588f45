"""TLS for calls to a master with mutual TLS on its control plane (README "Access control").

The certificate is this node's identity: its subject CN is the node name the master's access rules match, in
place of the name the client states. The same files serve the wire protocol, the HTTP request that finds its port
and gRPC. The master's certificate must name the host it is reached at.
"""
import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientTls:
    """``trusted``: the PEM CA certificates the master's certificate is checked against; ``certificate``: this
    node's PEM certificate chain and ``key`` its private key (PEM), or None for a client that presents none (the
    master then knows it by its network address alone)."""
    trusted: str
    certificate: str | None = None
    key: str | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.trusted)
        if self.certificate is not None:
            context.load_cert_chain(self.certificate, self.key)
        return context

    def grpc_credentials(self):
        import grpc
        return grpc.ssl_channel_credentials(root_certificates=_read(self.trusted), private_key=_read(self.key),
                                            certificate_chain=_read(self.certificate))


def _read(path):
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()
