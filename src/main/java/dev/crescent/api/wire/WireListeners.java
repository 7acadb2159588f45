package dev.crescent.api.wire;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One port served by {@code loops} listeners, each on an event loop of its own: Vert.x hands the connections it
 * accepts to them in turn, and each connection's frames are then read, called and answered on its listener's loop.
 * The listeners are the instances of one verticle deployment (each instance gets its own event-loop context).
 */
final class WireListeners {
    /**
     * Listeners asked for port 0 share the free port the first of them is given when they ask for the same negative
     * port (Vert.x's rule); each set of listeners takes a number of its own, so two sets never share.
     */
    private static final AtomicInteger SHARED_FREE_PORTS = new AtomicInteger();

    private final Vertx vertx;
    private final String deployment;
    private final int port;
    private final int loops;

    private WireListeners(Vertx vertx, String deployment, int port, int loops) {
        this.vertx = vertx;
        this.deployment = deployment;
        this.port = port;
        this.loops = loops;
    }

    /** Starts the listeners and waits until all of them listen; {@code options}' port 0 picks a free one. */
    static WireListeners started(Vertx vertx, NetServerOptions options, int loops, Handler<NetSocket> connections) {
        NetServerOptions shared = new NetServerOptions(options);
        if (shared.getPort() == 0 && loops > 1) {
            shared.setPort(-1 - SHARED_FREE_PORTS.getAndIncrement());
        }
        AtomicInteger bound = new AtomicInteger();
        String deployment = vertx.deployVerticle(
                        () -> new Listener(shared, connections, bound), new DeploymentOptions().setInstances(loops))
                .toCompletionStage()
                .toCompletableFuture()
                .join();
        return new WireListeners(vertx, deployment, bound.get(), loops);
    }

    /** The port all of them listen on. */
    int port() {
        return port;
    }

    /** How many listeners, each on an event loop of its own, serve the port. */
    int loops() {
        return loops;
    }

    void close() {
        vertx.undeploy(deployment);
    }

    /** One listener: created, and so serving its connections, on the event loop its instance was given. */
    private static final class Listener extends AbstractVerticle {
        private final NetServerOptions options;
        private final Handler<NetSocket> connections;
        private final AtomicInteger bound;

        Listener(NetServerOptions options, Handler<NetSocket> connections, AtomicInteger bound) {
            this.options = options;
            this.connections = connections;
            this.bound = bound;
        }

        @Override
        public void start(Promise<Void> started) {
            NetServer server = vertx.createNetServer(options).connectHandler(connections);
            server.listen().onComplete(listening -> {
                if (listening.succeeded()) {
                    bound.set(listening.result().actualPort());
                    started.complete();
                } else {
                    started.fail(listening.cause());
                }
            });
        }
    }
}
