package dev.crescent.api.wire;

import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.api.rest.RestCaller;
import dev.crescent.config.CrescentConfig;
import dev.crescent.common.ErrorCode;
import io.quarkus.grpc.GrpcService;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Serves the {@link MasterWire} protocol on the HTTP port: an upgrade request becomes a raw connection handled by a
 * {@link MasterWireSession}. Clients need no other port or address, so leader lookup and failover work unchanged.
 * Off with {@code crescent.master.wire=false} (clients then use gRPC).
 */
@ApplicationScoped
public class MasterWireRoute {
    private final MasterGrpcService service;
    private final Vertx vertx;
    private final boolean enabled;
    private final MasterWireHandlers handlers = new MasterWireHandlers();

    public MasterWireRoute(@GrpcService MasterGrpcService service, Vertx vertx, CrescentConfig config) {
        this.service = service;
        this.vertx = vertx;
        this.enabled = config.master().wire();
    }

    void register(@Observes Router router) {
        if (enabled) {
            router.route(HttpMethod.GET, MasterWire.PATH).order(Integer.MIN_VALUE).handler(this::upgrade);
        }
    }

    private void upgrade(RoutingContext context) {
        HttpServerRequest request = context.request();
        if (!MasterWire.UPGRADE.equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE))) {
            context.response().setStatusCode(426).putHeader(HttpHeaders.UPGRADE, MasterWire.UPGRADE)
                    .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(new JsonObject().put("code", ErrorCode.INVALID_PARAMS.number())
                            .put("error", ErrorCode.INVALID_PARAMS.name())
                            .put("message", "expected an upgrade to " + MasterWire.UPGRADE).encode());
            return;
        }
        var caller = RestCaller.of(request);
        request.toNetSocket().onSuccess(socket ->
                new MasterWireSession(socket, caller, service, handlers, vertx).start());
    }
}
