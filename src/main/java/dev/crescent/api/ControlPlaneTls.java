package dev.crescent.api;

import io.quarkus.tls.TlsConfiguration;
import io.quarkus.tls.TlsConfigurationRegistry;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SSLOptions;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * TLS on the control plane: the configuration the HTTP server (REST and gRPC) takes from Quarkus's TLS registry
 * ({@code quarkus.http.tls-configuration-name}, else the default {@code quarkus.tls.*}). The master wire listener
 * serves with the same key and trust, and this node's own calls to a master present the same certificate, so one
 * key pair per node is its identity everywhere. Client certificates are requested, not required: a caller without
 * one is served as an unproven caller, which the access whitelist then judges (see {@code trust-stated-names}).
 */
@Singleton
public class ControlPlaneTls {
    private final TlsConfiguration configuration;
    private final SSLContext context;

    public ControlPlaneTls(
            TlsConfigurationRegistry registry,
            @ConfigProperty(name = "quarkus.http.tls-configuration-name") Optional<String> name) {
        // TlsConfiguration.from answers nothing for no name; the HTTP server then takes the default configuration.
        this.configuration = (name.isPresent() ? TlsConfiguration.from(registry, name) : registry.getDefault())
                .filter(tls -> tls.getKeyStoreOptions() != null)
                .orElse(null);
        this.context = context(configuration);
    }

    /** Whether the control plane speaks TLS (a key store is configured). */
    public boolean enabled() {
        return configuration != null;
    }

    /** {@code options} made to serve TLS with this node's key, requesting client certificates; as is when off. */
    public NetServerOptions serve(NetServerOptions options) {
        if (configuration == null) {
            return options;
        }
        options.setSsl(true)
                .setKeyCertOptions(configuration.getKeyStoreOptions())
                .setClientAuth(ClientAuth.REQUEST);
        if (configuration.getTrustStoreOptions() != null) {
            options.setTrustOptions(configuration.getTrustStoreOptions());
        }
        SSLOptions ssl = configuration.getSSLOptions();
        if (ssl != null) {
            options.setEnabledSecureTransportProtocols(ssl.getEnabledSecureTransportProtocols());
            ssl.getEnabledCipherSuites().forEach(options::addEnabledCipherSuite);
            options.setSslHandshakeTimeout(ssl.getSslHandshakeTimeout());
            options.setSslHandshakeTimeoutUnit(ssl.getSslHandshakeTimeoutUnit());
        }
        return options;
    }

    /**
     * This node's key and trust as a context, or null when off: for its calls to a master, its TCP transfers to TLS
     * transfer servers, and its own transfer server when that serves TLS. Built once, at start-up.
     */
    public SSLContext context() {
        return context;
    }

    private static SSLContext context(TlsConfiguration configuration) {
        if (configuration == null) {
            return null;
        }
        try {
            return configuration.createSSLContext();
        } catch (Exception e) {
            throw new IllegalStateException(
                    "cannot build a TLS context from the TLS configuration " + configuration.getName(), e);
        }
    }
}
