package dev.crescent.boot;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT mean "stop" to an orchestrator, not "crash": both start the orderly shutdown (stop
 * accepting, drain in-flight requests within quarkus.shutdown.timeout, unmount the segment) and exit with 0.
 * The JVM's default would exit 143/130, which process supervisors read as a failure.
 */
@Singleton
public class GracefulExit {
    private static final Logger LOG = Logger.getLogger(GracefulExit.class);

    void install(@Observes StartupEvent event) {
        if (LaunchMode.current() != LaunchMode.NORMAL) {
            return;
        }
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> {
                LOG.infof("SIG%s received: shutting down", signal.getName());
                Quarkus.asyncExit(0);
            });
        }
    }
}
