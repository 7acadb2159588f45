package dev.crescent.api.rest;

import dev.crescent.api.RoleGuard;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.master.ClientView;
import dev.crescent.master.Master;
import dev.crescent.master.MasterStats;
import dev.crescent.master.ObjectInfo;
import dev.crescent.master.SegmentView;
import dev.crescent.master.access.AccessControl;
import dev.crescent.master.ha.MasterLeadership;
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

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Admin views of the master: segments, workers, keys, the cluster summary. Needs the admin right, and the leader
 * (a standby's views would be its own, empty ones).
 */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class ClusterResource {
    private static final int MAX_KEYS = 10_000;

    private final Master master;
    private final MasterLeadership leadership;
    private final RoleGuard role;
    private final AccessControl access;
    private final RestCalls rest;

    public ClusterResource(
            Master master, MasterLeadership leadership, RoleGuard role, AccessControl access, RestCalls rest) {
        this.master = master;
        this.leadership = leadership;
        this.role = role;
        this.access = access;
        this.rest = rest;
    }

    /**
     * What the cluster looks like from this master.
     *
     * @param masters every live master of an HA cluster, the leader first; empty without etcd
     * @param tenants  each tenant's quota and what it holds
     */
    @RegisterForReflection
    public record ClusterView(
            String role,
            MasterStats stats,
            String placement,
            String eviction,
            boolean accessControl,
            List<MasterMember> masters,
            List<TenantResource.TenantView> tenants) {}

    /** A master of the cluster: its address and "leader" or "standby". */
    @RegisterForReflection
    public record MasterMember(String address, String role) {}

    @RegisterForReflection
    public record KeyList(String prefix, List<String> keys, boolean truncated) {}

    @GET
    @Path("cluster")
    public ClusterView cluster(@Context HttpServerRequest request) {
        return admin(
                "cluster",
                request,
                () -> new ClusterView(
                        role.role().name().toLowerCase(),
                        master.stats(),
                        master.placementStrategy(),
                        master.evictionPolicy(),
                        access.enabled(),
                        members(),
                        TenantResource.views(master)));
    }

    private List<MasterMember> members() {
        List<MasterMember> members = new ArrayList<>();
        leadership.masters().forEach((address, leads) -> {
            MasterMember member = new MasterMember(address, leads ? "leader" : "standby");
            if (leads) {
                members.addFirst(member);
            } else {
                members.add(member);
            }
        });
        return members;
    }

    /** Mounted segments: capacity, used and free bytes, largest free range, fragmentation. */
    @GET
    @Path("segments")
    public List<SegmentView> segments(@Context HttpServerRequest request) {
        return admin("segments", request, master::segmentViews);
    }

    /** Live workers and clients that mounted memory, with their last heartbeat. */
    @GET
    @Path("workers")
    public List<ClientView> workers(@Context HttpServerRequest request) {
        return admin("workers", request, master::clients);
    }

    /** Keys starting with {@code prefix}, in order, at most {@code limit}. */
    @GET
    @Path("keys")
    public KeyList keys(
            @QueryParam("prefix") @DefaultValue("") String prefix,
            @QueryParam("limit") String limitParam,
            @Context HttpServerRequest request) {
        return admin("keys", request, () -> {
            int limit = QueryParams.number("limit", limitParam, 1000);
            if (limit <= 0 || limit > MAX_KEYS) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "limit must be 1 to " + MAX_KEYS + ", was " + limit);
            }
            List<String> keys = master.listKeys(prefix, limit + 1);
            return new KeyList(prefix, keys.size() > limit ? keys.subList(0, limit) : keys, keys.size() > limit);
        });
    }

    /** One object's metadata: size, state, replicas, lease and pins. Grants no lease. */
    @GET
    @Path("keys/{key: .+}")
    public ObjectInfo key(@PathParam("key") String key, @Context HttpServerRequest request) {
        return admin("key", request, () -> {
            ObjectInfo info = master.describeObject(key);
            if (info == null) {
                throw new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' not found");
            }
            return info;
        });
    }

    private <T> T admin(String op, HttpServerRequest request, Supplier<T> view) {
        return rest.call(op, request, Right.ADMIN, null, () -> {
            role.requireMaster();
            master.requireLeader();
            return view.get();
        });
    }
}
