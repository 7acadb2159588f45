package dev.crescent.api.rest;

import dev.crescent.api.RoleGuard;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.master.Master;
import dev.crescent.master.TenantQuota;
import dev.crescent.master.TenantRegistry;
import dev.crescent.master.Tenants;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.util.List;

/**
 * Tenant quotas: list them with what each tenant holds, add or replace one by name, delete one. Kept in the metadata
 * store, like API access rules. Needs the admin right (when access control is on).
 */
@Path("/v1/tenants")
@Produces(MediaType.APPLICATION_JSON)
public class TenantResource {
    private final TenantRegistry registry;
    private final Master master;
    private final RoleGuard role;
    private final RestCalls rest;

    public TenantResource(TenantRegistry registry, Master master, RoleGuard role, RestCalls rest) {
        this.registry = registry;
        this.master = master;
        this.role = role;
        this.rest = rest;
    }

    /** A quota as a caller writes it; {@code reservedBytes} absent: the whole quota. */
    @RegisterForReflection
    public record QuotaBody(String prefix, Long quotaBytes, Long reservedBytes) {
        TenantQuota named(String name) {
            if (quotaBytes == null) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "tenant '" + name + "' needs quotaBytes");
            }
            return new TenantQuota(name, prefix, quotaBytes, reservedBytes);
        }
    }

    /** A tenant as listed: its quota and what it holds now. */
    @RegisterForReflection
    public record TenantView(
            String name, String prefix, long quotaBytes, long reservedBytes, long usedBytes, long refusedPuts) {
        static TenantView of(Tenants.Account account) {
            TenantQuota quota = account.quota();
            return new TenantView(
                    quota.name(),
                    quota.prefix(),
                    quota.quotaBytes(),
                    quota.reserved(),
                    account.usedBytes(),
                    account.refused());
        }
    }

    /** The tenants of {@code master} as the admin views list them. */
    static List<TenantView> views(Master master) {
        return master.tenants().stream().map(TenantView::of).toList();
    }

    @GET
    public List<TenantView> list(@Context HttpServerRequest request) {
        return rest.call("tenant_list", request, Right.ADMIN, null, () -> {
            role.requireMaster();
            return views(master);
        });
    }

    @PUT
    @Path("{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response put(@PathParam("name") String name, QuotaBody body, @Context HttpServerRequest request) {
        return rest.call("tenant_put", request, Right.ADMIN, null, () -> {
            role.requireMaster();
            registry.put((body == null ? new QuotaBody(null, null, null) : body).named(name));
            return Response.noContent().build();
        });
    }

    @DELETE
    @Path("{name}")
    public Response delete(@PathParam("name") String name, @Context HttpServerRequest request) {
        return rest.call("tenant_delete", request, Right.ADMIN, null, () -> {
            role.requireMaster();
            if (!registry.delete(name)) {
                throw new StoreException(ErrorCode.OBJECT_NOT_FOUND, "no tenant named '" + name + "'");
            }
            return Response.noContent().build();
        });
    }
}
