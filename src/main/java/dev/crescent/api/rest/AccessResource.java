package dev.crescent.api.rest;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.AccessControl;
import dev.crescent.master.access.AccessRule;
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
import java.util.stream.Collectors;

/**
 * The access whitelist: list every rule in force, add or replace and delete API rules by name. Rules from
 * configuration are listed but read-only. Needs the admin right (when access control is on).
 */
@Path("/v1/access/rules")
@Produces(MediaType.APPLICATION_JSON)
public class AccessResource {
    private final AccessControl access;
    private final RestCalls rest;

    public AccessResource(AccessControl access, RestCalls rest) {
        this.access = access;
        this.rest = rest;
    }

    /** A rule as a caller writes it; absent lists are empty. Rights: read, write, mount, admin. */
    @RegisterForReflection
    public record RuleBody(List<String> nodes, List<String> cidrs, List<String> prefixes, List<String> rights) {
        AccessRule named(String name) {
            return new AccessRule(
                    name,
                    orEmpty(nodes),
                    orEmpty(cidrs),
                    orEmpty(prefixes),
                    orEmpty(rights).stream().map(RuleBody::right).collect(Collectors.toSet()));
        }

        private static List<String> orEmpty(List<String> list) {
            return list == null ? List.of() : list;
        }

        private static Right right(String name) {
            try {
                return Right.valueOf(String.valueOf(name).trim().toUpperCase());
            } catch (IllegalArgumentException e) {
                throw new StoreException(
                        ErrorCode.INVALID_PARAMS, "unknown right '" + name + "'; rights are read, write, mount, admin");
            }
        }
    }

    @GET
    public List<AccessControl.Listed> list(@Context HttpServerRequest request) {
        return rest.call("access_list", request, Right.ADMIN, null, access::rules);
    }

    @PUT
    @Path("{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response put(@PathParam("name") String name, RuleBody body, @Context HttpServerRequest request) {
        return rest.call("access_put", request, Right.ADMIN, null, () -> {
            access.putRule((body == null ? new RuleBody(null, null, null, null) : body).named(name));
            return Response.noContent().build();
        });
    }

    @DELETE
    @Path("{name}")
    public Response delete(@PathParam("name") String name, @Context HttpServerRequest request) {
        return rest.call("access_delete", request, Right.ADMIN, null, () -> {
            if (!access.deleteRule(name)) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "no API rule named '" + name + "'");
            }
            return Response.noContent().build();
        });
    }
}
