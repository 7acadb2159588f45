package dev.crescent.api.rest;

import dev.crescent.client.StoreClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ReplicaConfig;
import io.smallrye.common.annotation.NonBlocking;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HEAD;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Arrays;
import java.util.List;

/** The REST object gateway: bytes in, bytes out, for callers without a transfer engine. */
@Path("/v1/objects")
public class ObjectResource {
    private final StoreClient store;
    private final RestCalls rest;

    public ObjectResource(StoreClient store, RestCalls rest) {
        this.store = store;
        this.rest = rest;
    }

    /**
     * Stores the body under the key.
     *
     * @param replicas  wanted replicas (0: the master's default)
     * @param preferred segments to try first, comma-separated
     * @param pin       {@code soft} (evicted last while the pin lasts) or {@code hard} (never evicted)
     */
    @PUT
    @Path("{key: .+}")
    @Consumes(MediaType.WILDCARD)
    @NonBlocking // the body is read without a thread waiting for it; the put itself runs on a worker thread
    public Uni<Response> put(
            @PathParam("key") String key,
            @QueryParam("upsert") String upsert,
            @QueryParam("replicas") String replicas,
            @QueryParam("preferred") @DefaultValue("") String preferred,
            @QueryParam("pin") @DefaultValue("") String pin,
            @Context HttpServerRequest request,
            byte[] body) {
        return Uni.createFrom()
                .item(() -> rest.call("put", request, Right.WRITE, key, () -> {
                    if (body == null || body.length == 0) {
                        throw new StoreException(ErrorCode.INVALID_PARAMS, "object body must not be empty");
                    }
                    if (!pin.isEmpty() && !pin.equals("soft") && !pin.equals("hard")) {
                        throw new StoreException(
                                ErrorCode.INVALID_PARAMS, "pin must be 'soft' or 'hard', was '" + pin + "'");
                    }
                    List<String> preferredSegments = preferred.isBlank()
                            ? List.of()
                            : Arrays.stream(preferred.split(","))
                                    .map(String::trim)
                                    .filter(s -> !s.isEmpty())
                                    .toList();
                    ReplicaConfig config = new ReplicaConfig(
                            QueryParams.number("replicas", replicas, 0),
                            preferredSegments,
                            pin.equals("soft"),
                            pin.equals("hard"));
                    store.put(key, MemorySegment.ofArray(body), config, QueryParams.flag("upsert", upsert, false));
                    return Response.created(location(key)).build();
                }))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    @GET
    @Path("{key: .+}")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response get(@PathParam("key") String key, @Context HttpServerRequest request) {
        return rest.call(
                "get",
                request,
                Right.READ,
                key,
                () -> Response.ok(store.get(key)).build());
    }

    @HEAD
    @Path("{key: .+}")
    public Response head(@PathParam("key") String key, @Context HttpServerRequest request) {
        return rest.call(
                "head",
                request,
                Right.READ,
                key,
                () -> Response.ok()
                        .header(HttpHeaders.CONTENT_LENGTH, store.size(key))
                        .type(MediaType.APPLICATION_OCTET_STREAM_TYPE)
                        .build());
    }

    /**
     * Deletes the object. Forced by default: a REST caller means "delete"; memory still being read by a leased
     * reader is only reused once that lease ends. {@code ?force=false} refuses leased objects (-706) instead.
     */
    @DELETE
    @Path("{key: .+}")
    public Response delete(
            @PathParam("key") String key, @QueryParam("force") String force, @Context HttpServerRequest request) {
        return rest.call("delete", request, Right.WRITE, key, () -> {
            store.remove(key, QueryParams.flag("force", force, true));
            return Response.noContent().build();
        });
    }

    /** {@code /v1/objects/} with no key at all: the empty key, refused the same way on every method. */
    @PUT
    @Consumes(MediaType.WILDCARD)
    public Response putEmptyKey(@Context HttpServerRequest request) {
        return emptyKey(request);
    }

    @GET
    public Response getEmptyKey(@Context HttpServerRequest request) {
        return emptyKey(request);
    }

    @HEAD
    public Response headEmptyKey(@Context HttpServerRequest request) {
        return emptyKey(request);
    }

    @DELETE
    public Response deleteEmptyKey(@Context HttpServerRequest request) {
        return emptyKey(request);
    }

    private Response emptyKey(HttpServerRequest request) {
        return rest.call("invalid", request, Right.READ, "", () -> Response.ok().build());
    }

    /** The object's URI, with every character a URI path may not hold (space, %, ", {, |, ...) percent-encoded. */
    private static URI location(String key) {
        try {
            return new URI(null, null, "/v1/objects/" + key, null);
        } catch (URISyntaxException e) {
            throw new StoreException(ErrorCode.INVALID_KEY, "key cannot be part of a URI: " + e.getMessage());
        }
    }
}
