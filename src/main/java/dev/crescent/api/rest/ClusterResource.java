package dev.crescent.api.rest;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import dev.crescent.config.RoleGuard;
import dev.crescent.master.ClientView;
import dev.crescent.master.Master;
import dev.crescent.master.MasterStats;
import dev.crescent.master.ObjectInfo;
import dev.crescent.master.SegmentView;
import dev.crescent.master.access.AccessControl;
import dev.crescent.master.access.Right;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;

import java.util.List;

/** Admin views of the master: segments, workers, keys, the cluster summary. Needs the admin right. */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class ClusterResource {
    private static final int MAX_KEYS = 10_000;

    private final Master master;
    private final RoleGuard role;
    private final AccessControl access;

    public ClusterResource(Master master, RoleGuard role, AccessControl access) {
        this.master = master;
        this.role = role;
        this.access = access;
    }

    /** What the cluster looks like from this master. */
    @RegisterForReflection
    public record ClusterView(String role, MasterStats stats, String placement, String eviction,
                              boolean accessControl) {
    }

    @RegisterForReflection
    public record KeyList(String prefix, List<String> keys, boolean truncated) {
    }

    @GET
    @Path("cluster")
    public ClusterView cluster(@Context HttpServerRequest request) {
        admin(request);
        return new ClusterView(role.role().name().toLowerCase(), master.stats(), master.placementStrategy(),
                master.evictionPolicy(), access.enabled());
    }

    /** Mounted segments: capacity, used and free bytes, largest free range, fragmentation. */
    @GET
    @Path("segments")
    public List<SegmentView> segments(@Context HttpServerRequest request) {
        admin(request);
        return master.segmentViews();
    }

    /** Live workers and clients that mounted memory, with their last heartbeat. */
    @GET
    @Path("workers")
    public List<ClientView> workers(@Context HttpServerRequest request) {
        admin(request);
        return master.clients();
    }

    /** Keys starting with {@code prefix}, in order, at most {@code limit}. */
    @GET
    @Path("keys")
    public KeyList keys(@QueryParam("prefix") @DefaultValue("") String prefix,
                        @QueryParam("limit") @DefaultValue("1000") int limit, @Context HttpServerRequest request) {
        admin(request);
        if (limit <= 0 || limit > MAX_KEYS) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "limit must be 1 to " + MAX_KEYS + ", was " + limit);
        }
        List<String> keys = master.listKeys(prefix, limit + 1);
        return new KeyList(prefix, keys.size() > limit ? keys.subList(0, limit) : keys, keys.size() > limit);
    }

    /** One object's metadata: size, state, replicas, lease and pins. Grants no lease. */
    @GET
    @Path("keys/{key: .+}")
    public ObjectInfo key(@PathParam("key") String key, @Context HttpServerRequest request) {
        admin(request);
        ObjectInfo info = master.describeObject(ObjectKeys.validate(key));
        if (info == null) {
            throw new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' not found");
        }
        return info;
    }

    private void admin(HttpServerRequest request) {
        role.requireMaster();
        access.check(() -> RestCaller.of(request), Right.ADMIN, null);
    }
}
