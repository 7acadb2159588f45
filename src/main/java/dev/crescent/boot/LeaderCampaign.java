package dev.crescent.boot;

import dev.crescent.api.ControlPlaneTls;
import dev.crescent.common.NodeNames;
import dev.crescent.config.CrescentConfig;
import dev.crescent.master.ha.MasterLeadership;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.value.registry.ValueRegistry;
import io.quarkus.vertx.http.HttpServer;
import io.quarkus.vertx.http.HttpServerStart;
import io.quarkus.vertx.http.HttpsServerStart;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.ObservesAsync;
import jakarta.inject.Singleton;

/**
 * Starts the master's campaign for leadership once the HTTP server listens (only then is there an address to
 * publish, and a service behind it), and ends it at shutdown.
 */
@Singleton
public class LeaderCampaign {
    private final CrescentConfig config;
    private final MasterLeadership leadership;
    private final ValueRegistry values;
    private final boolean tls;

    public LeaderCampaign(
            CrescentConfig config, MasterLeadership leadership, ValueRegistry values, ControlPlaneTls tls) {
        this.config = config;
        this.leadership = leadership;
        this.values = values;
        this.tls = tls.enabled();
    }

    void start(@ObservesAsync HttpServerStart event) {
        if (!tls) {
            // The port really bound (the options say 0 or -1 when a free port was asked for).
            campaign(values.getOrDefault(HttpServer.HTTP_PORT, event.options().getPort()));
        }
    }

    /** With TLS clients are sent to the TLS port, where their certificates prove who they are. */
    void startSecure(@ObservesAsync HttpsServerStart event) {
        if (tls) {
            campaign(values.getOrDefault(HttpServer.HTTPS_PORT, event.options().getPort()));
        }
    }

    private void campaign(int port) {
        leadership.start(
                () -> config.master().advertiseAddress().orElseGet(() -> NodeNames.hostAddress() + ":" + port));
    }

    void stop(@Observes ShutdownEvent event) {
        leadership.stop();
    }
}
