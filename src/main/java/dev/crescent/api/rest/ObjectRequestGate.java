package dev.crescent.api.rest;

import dev.crescent.api.Callers;
import dev.crescent.api.ObjectSizeLimit;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
import dev.crescent.master.access.AccessControl;
import io.vertx.core.http.HttpServerRequest;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.UriInfo;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Checks an object request before its body is read. The key as sent: a path whose raw form has a {@code .} or
 * {@code ..} segment is refused (the server would normalise it and store under another key). For a PUT, the
 * caller's WRITE right and the size it announces: a body is held in memory while it arrives, so nothing is buffered
 * for a caller who may not write, or for an object larger than {@code crescent.api.max-object-size}. The resource
 * checks the key and the size actually sent again; this makes sure refusals cost no memory and keys never alias.
 */
@Singleton
public class ObjectRequestGate {
    private static final String OBJECTS = "/v1/objects/";

    // Filters are built while the application starts, before the configuration is mapped: look both up on use.
    private final Provider<AccessControl> access;
    private final Provider<CrescentConfig> config;

    public ObjectRequestGate(Provider<AccessControl> access, Provider<CrescentConfig> config) {
        this.access = access;
        this.config = config;
    }

    @ServerRequestFilter(nonBlocking = true)
    public void beforeTheBody(UriInfo uri, HttpHeaders headers, HttpServerRequest request) {
        if (!uri.getPath().startsWith(OBJECTS)) {
            return;
        }
        requireNoDotSegments(request.path());
        if (!HttpMethod.PUT.equals(request.method().name())) {
            return;
        }
        String key = uri.getPathParameters().getFirst("key");
        if (key != null) {
            access.get().check(() -> Callers.of(request), Right.WRITE, ObjectKeys.validate(key));
        }
        long announced = headers.getLength();
        ObjectSizeLimit.check(announced, config.get().api().maxObjectSize().asLongValue());
    }

    /** Refuses a raw path with a {@code .} or {@code ..} segment, plain or percent-encoded. */
    static void requireNoDotSegments(String rawPath) {
        for (String segment : rawPath.split("/", -1)) {
            String plain = segment.replace("%2e", ".").replace("%2E", ".");
            if (plain.equals(".") || plain.equals("..")) {
                throw new StoreException(
                        ErrorCode.INVALID_KEY, "a key may not have '.' or '..' segments: they would name another key");
            }
        }
    }
}
