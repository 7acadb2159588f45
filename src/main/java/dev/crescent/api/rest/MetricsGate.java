package dev.crescent.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.api.Callers;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.AccessControl;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/**
 * With access control on, the Prometheus endpoint ({@code /q/metrics}) answers only callers with the admin right: its
 * series name segments, clients and tenants' traffic. Health endpoints stay open for orchestrators' probes.
 */
@Singleton
public class MetricsGate {
    private static final String METRICS = "/q/metrics";

    private final AccessControl access;
    private final ObjectMapper json;

    public MetricsGate(AccessControl access, ObjectMapper json) {
        this.access = access;
        this.json = json;
    }

    void register(@Observes Router router) {
        // Before the metrics route itself, whatever order it was registered in.
        router.route(METRICS).order(Integer.MIN_VALUE).handler(this::admit);
        router.route(METRICS + "/*").order(Integer.MIN_VALUE).handler(this::admit);
    }

    private void admit(RoutingContext context) {
        if (!access.enabled()) {
            context.next();
            return;
        }
        try {
            access.check(() -> Callers.of(context.request()), Right.ADMIN, null);
            context.next();
        } catch (StoreException refused) {
            try {
                context.response()
                        .setStatusCode(refused.code().httpStatus())
                        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                        .end(json.writeValueAsString(ErrorBody.of(refused.code(), refused.getMessage())));
            } catch (JsonProcessingException e) {
                context.fail(e);
            }
        }
    }
}
