package dev.crescent.boot;

import dev.crescent.common.Threads;
import dev.crescent.config.CrescentConfig;
import dev.crescent.master.Master;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Once a second, in roles that run the master: {@link Master#sweep}, declaring silent clients dead, and eviction
 * above the high watermark.
 */
@Singleton
public class MasterHousekeeping {
    private static final Logger LOG = Logger.getLogger(MasterHousekeeping.class);

    private final CrescentConfig config;
    private final Master master;
    private ScheduledExecutorService timer;

    public MasterHousekeeping(CrescentConfig config, Master master) {
        this.config = config;
        this.master = master;
    }

    void start(@Observes StartupEvent event) {
        if (!config.role().runsMaster()) {
            return;
        }
        timer = Threads.daemonScheduler("crescent-sweep");
        timer.scheduleWithFixedDelay(this::sweepQuietly, 1, 1, TimeUnit.SECONDS);
    }

    private void sweepQuietly() {
        try {
            master.sweep();
            for (String dead : master.expireSilentClients()) {
                LOG.warnf(
                        "client %s was silent for %s: its segments are unmounted",
                        dead, config.master().clientTtl());
            }
            master.evictAboveWatermark();
        } catch (RuntimeException e) {
            LOG.error("master housekeeping failed", e);
        }
    }

    void stop(@Observes ShutdownEvent event) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
