package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * TLS for calls to a master: this node's certificate (its identity, which the master's access rules match) and
 * the certificates it trusts the master's to be signed by. One {@link SSLContext} serves the wire protocol, the
 * HTTP request that finds its port, and gRPC. The master's certificate must name the host it is reached at.
 */
public final class ClientTls {
    private static final String GRPC_PROTOCOL = "h2";

    private ClientTls() {}

    /**
     * A context from PEM files, as a Mooncake-style deployment hands them out.
     *
     * @param certificate this node's certificate chain (its subject CN is the node name the master sees)
     * @param key         its private key, PKCS#8
     * @param trusted     the CA certificates the master's certificate is checked against
     */
    public static SSLContext fromPem(Path certificate, Path key, Path trusted) {
        try {
            SslContext built = SslContextBuilder.forClient()
                    .sslProvider(SslProvider.JDK)
                    .keyManager(certificate.toFile(), key.toFile())
                    .trustManager(trusted.toFile())
                    .build();
            return ((JdkSslContext) built).context();
        } catch (SSLException | IllegalArgumentException e) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "cannot read TLS material (" + certificate + ", " + key + ", " + trusted + "): " + e.getMessage(),
                    e);
        }
    }

    /** The same context for grpc-netty, which needs HTTP/2 negotiated by ALPN. */
    static SslContext forGrpc(SSLContext tls) {
        return new JdkSslContext(
                tls,
                true,
                null,
                IdentityCipherSuiteFilter.INSTANCE,
                new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        GRPC_PROTOCOL),
                ClientAuth.NONE,
                null,
                false);
    }
}
