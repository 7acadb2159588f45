package dev.crescent.boot;

import dev.crescent.api.events.VllmEventCodec;
import dev.crescent.api.events.ZmqEventPublisher;
import dev.crescent.config.CrescentConfig;
import dev.crescent.master.Master;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/** Starts the ZeroMQ KV-event publisher in roles that run the master, when an endpoint is configured. */
@Singleton
public class KvEventPublishing {
    private final CrescentConfig config;
    private final Master master;
    private ZmqEventPublisher publisher;

    public KvEventPublishing(CrescentConfig config, Master master) {
        this.config = config;
        this.master = master;
    }

    void start(@Observes StartupEvent event) {
        CrescentConfig.EventsConfig.ZmqConfig zmq = config.events().zmq();
        if (!config.role().runsMaster() || zmq.endpoint().isEmpty()) {
            return;
        }
        publisher = new ZmqEventPublisher(
                master.events(),
                master::isLeader,
                zmq.endpoint().get(),
                zmq.replayEndpoint().orElse(null),
                zmq.topic().orElse(""),
                new VllmEventCodec(zmq.medium(), 0));
        publisher.start();
    }

    void stop(@Observes ShutdownEvent event) {
        if (publisher != null) {
            publisher.close();
        }
    }
}
