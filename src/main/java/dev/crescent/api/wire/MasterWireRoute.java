package dev.crescent.api.wire;

import dev.crescent.api.ControlPlaneTls;
import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.config.CrescentConfig;
import dev.crescent.config.Role;
import dev.crescent.protocol.MasterWire;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.quarkus.grpc.GrpcService;
import io.quarkus.runtime.ShutdownEvent;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.nio.file.Path;
import java.util.List;

/**
 * Serves the {@link MasterWire} protocol: a listener of its own (on the HTTP host, port
 * {@code crescent.master.wire-port}, 0 picks a free one) whose port {@code GET /v1/master-wire} announces on the
 * HTTP port, so clients need no address but the master's. Each connection is a {@link MasterWireSession}. Off with
 * {@code crescent.master.wire=false} (the route answers 404 and clients use gRPC). With TLS on the HTTP server the
 * listener speaks TLS too, with the same key and trust ({@link ControlPlaneTls}), and the announcement says so.
 * Without TLS a direct listener ({@link DirectWireListener}, announced as {@code direct-port}) serves up to
 * {@code crescent.master.wire-threads} connections with a thread each, which callers prefer.
 */
@ApplicationScoped
public class MasterWireRoute {
    private final MasterGrpcService service;
    private final Vertx vertx;
    private final CrescentConfig config;
    private final ControlPlaneTls tls;
    private final String host;
    private final MasterWireHandlers handlers = new MasterWireHandlers();
    private volatile List<WireListeners> listeners = List.of();
    /** The direct listener, when there is one. */
    private volatile DirectWireListener direct;

    public MasterWireRoute(
            @GrpcService MasterGrpcService service,
            Vertx vertx,
            CrescentConfig config,
            ControlPlaneTls tls,
            @ConfigProperty(name = "quarkus.http.host", defaultValue = "0.0.0.0") String host) {
        this.service = service;
        this.vertx = vertx;
        this.config = config;
        this.tls = tls;
        this.host = host;
    }

    void register(@Observes Router router) {
        if (!config.master().wire()) {
            return;
        }
        WireLimits limits = new WireLimits(
                config.master().wireFrameTimeout(),
                config.master().wireBufferBudget().asLongValue());
        WireRings rings = new WireRings(
                Path.of(config.worker().shmDir()),
                config.worker().shmGroup().orElse(null),
                config.master().wireRings());
        int singleLoops = loops(config.master().wireLoops());
        int batchLoops = loops(config.master().wireBatchLoops());
        ByteBufAllocator frames = framePool(singleLoops + batchLoops);
        Handler<NetSocket> sessions =
                socket -> new MasterWireSession(socket, service, handlers, vertx, limits, rings, frames).start();
        NetServerOptions options =
                tls.serve(new NetServerOptions().setHost(host).setTcpNoDelay(true));
        WireListeners single = WireListeners.started(
                vertx, new NetServerOptions(options).setPort(config.master().wirePort()), singleLoops, sessions);
        WireListeners batch = WireListeners.started(
                vertx, new NetServerOptions(options).setPort(config.master().wireBatchPort()), batchLoops, sessions);
        listeners = List.of(single, batch);
        // TLS stays on the event loops, which seal and open records without a thread per connection.
        direct = config.master().wireThreads() > 0 && !tls.enabled()
                ? DirectWireListener.started(
                        host,
                        config.master().wireDirectPort(),
                        config.master().wireThreads(),
                        socket -> new DirectWireSession(socket, service, handlers, limits, rings))
                : null;
        JsonObject announced = new JsonObject()
                .put("port", single.port())
                .put("batch-port", batch.port())
                .put("tls", tls.enabled());
        if (direct != null) {
            announced.put("direct-port", direct.port());
            long streamed = Math.min(config.master().streamedPutMaxBytes().asLongValue(), MasterWire.MAX_FRAME >> 1);
            if (config.role() == Role.STANDALONE && streamed > 0) {
                announced.put("streamed-put-bytes", streamed);
            }
        }
        String announcement = announced.encode();
        router.route(HttpMethod.GET, MasterWire.PATH)
                .handler(context -> context.response()
                        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                        .end(announcement));
    }

    /**
     * Event loops for a listener: as configured, or one per core (at least two) for 0. Single calls too: a 64 KiB put
     * costs a loop about 27 us, so one loop capped them near Redis's one thread, and on two loops the calls of one
     * connection still run in order while another's run beside them.
     */
    static int loops(int configured) {
        return configured > 0 ? configured : Math.max(2, Runtime.getRuntime().availableProcessors());
    }

    /**
     * A heap pool for request frames alone, an arena per loop. In the channels' shared pool a batch's frame (128 4 KiB
     * values, 525 KiB) found no run of free pages once other buffers had scattered over its chunks, and took a chunk
     * of its own each time, freed again when the frame was: a 4 MiB array per call, a collection every 70 ms, and
     * batched puts' p99 at 10-14 ms instead of 3-4. Frames live only while their call runs, so their own chunks stay
     * whole. Netty's default geometry (8 KiB pages, 4 MiB chunks), heap arenas only, and no per-thread caches: with an
     * arena per loop, each loop's frames are taken and given back in an arena it rarely shares. An arena keeps a chunk
     * once it had one, so, as in Netty's own pool, there are no more arenas than a sixth of the heap holds chunks.
     */
    static ByteBufAllocator framePool(int loops) {
        int pageSize = 8192;
        int maxOrder = 9;
        long chunk = (long) pageSize << maxOrder;
        int arenas = Math.clamp(Runtime.getRuntime().maxMemory() / chunk / 6, 1, loops);
        return new PooledByteBufAllocator(false, arenas, 0, pageSize, maxOrder, 0, 0, true);
    }

    /** How many event loops serve the single calls' port (none before the router was set up). */
    int singleCallLoops() {
        return listeners.isEmpty() ? 0 : listeners.getFirst().loops();
    }

    /** How many connections the direct listener serves now (0 without one). */
    int directServing() {
        DirectWireListener listening = direct;
        return listening == null ? 0 : listening.serving();
    }

    void stop(@Observes ShutdownEvent event) {
        for (WireListeners listening : listeners) {
            listening.close();
        }
        if (direct != null) {
            direct.close();
        }
    }
}
