package dev.crescent.api.rest;

import dev.crescent.api.OpMetrics;
import dev.crescent.client.StoreClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
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
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.util.function.Supplier;

/** The REST object gateway: bytes in, bytes out, for callers without a transfer engine. */
@Path("/v1/objects")
public class ObjectResource {
    private static final String API = "rest";

    private final StoreClient store;
    private final OpMetrics metrics;

    public ObjectResource(StoreClient store, OpMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    @PUT
    @Path("{key: .+}")
    @Consumes(MediaType.WILDCARD)
    public Response put(@PathParam("key") String key, @QueryParam("upsert") @DefaultValue("false") boolean upsert,
                        @QueryParam("replicas") @DefaultValue("0") int replicas, byte[] body) {
        return measured("put", () -> {
            ObjectKeys.validate(key);
            if (body == null || body.length == 0) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "object body must not be empty");
            }
            store.put(key, MemorySegment.ofArray(body), replicas, upsert);
            return Response.created(URI.create("/v1/objects/" + key)).build();
        });
    }

    @GET
    @Path("{key: .+}")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response get(@PathParam("key") String key) {
        return measured("get", () -> Response.ok(store.get(ObjectKeys.validate(key))).build());
    }

    @HEAD
    @Path("{key: .+}")
    public Response head(@PathParam("key") String key) {
        return measured("head", () -> Response.ok()
                .header(HttpHeaders.CONTENT_LENGTH, store.size(ObjectKeys.validate(key)))
                .type(MediaType.APPLICATION_OCTET_STREAM_TYPE).build());
    }

    /**
     * Deletes the object. Forced by default: a REST caller means "delete"; memory still being read by a leased
     * reader is only reused once that lease ends. {@code ?force=false} refuses leased objects (-706) instead.
     */
    @DELETE
    @Path("{key: .+}")
    public Response delete(@PathParam("key") String key, @QueryParam("force") @DefaultValue("true") boolean force) {
        return measured("delete", () -> {
            store.remove(ObjectKeys.validate(key), force);
            return Response.noContent().build();
        });
    }

    /** {@code /v1/objects/} with no key at all: the empty key, refused the same way on every method. */
    @PUT
    @Consumes(MediaType.WILDCARD)
    public Response putEmptyKey() {
        return emptyKey();
    }

    @GET
    public Response getEmptyKey() {
        return emptyKey();
    }

    @HEAD
    public Response headEmptyKey() {
        return emptyKey();
    }

    @DELETE
    public Response deleteEmptyKey() {
        return emptyKey();
    }

    private Response emptyKey() {
        return measured("invalid", () -> Response.ok(ObjectKeys.validate("")).build());
    }

    private Response measured(String op, Supplier<Response> action) {
        try {
            Response response = action.get();
            metrics.record(API, op, ErrorCode.OK);
            return response;
        } catch (StoreException e) {
            metrics.record(API, op, e.code());
            throw e;
        }
    }
}
