package dev.crescent.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.AccessControl;
import dev.crescent.master.access.AccessRule;
import dev.crescent.master.access.Right;
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

import java.util.ArrayList;
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
    private final ObjectMapper json;

    public AccessResource(AccessControl access, ObjectMapper json) {
        this.access = access;
        this.json = json;
    }

    @GET
    public List<AccessControl.Listed> list(@Context HttpServerRequest request) {
        admin(request);
        return access.rules();
    }

    /** Body: {@code {"nodes": [...], "cidrs": [...], "prefixes": [...], "rights": ["read", ...]}}. */
    @PUT
    @Path("{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response put(@PathParam("name") String name, String body, @Context HttpServerRequest request) {
        admin(request);
        access.putRule(parse(name, body));
        return Response.noContent().build();
    }

    @DELETE
    @Path("{name}")
    public Response delete(@PathParam("name") String name, @Context HttpServerRequest request) {
        admin(request);
        if (!access.deleteRule(name)) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "no API rule named '" + name + "'");
        }
        return Response.noContent().build();
    }

    private AccessRule parse(String name, String body) {
        try {
            JsonNode node = json.readTree(body == null || body.isBlank() ? "{}" : body);
            if (!node.isObject()) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "a rule is a JSON object");
            }
            return new AccessRule(name, strings(node, "nodes"), strings(node, "cidrs"), strings(node, "prefixes"),
                    strings(node, "rights").stream().map(AccessResource::right)
                            .collect(Collectors.toSet()));
        } catch (JsonProcessingException e) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "rule body is not JSON: " + e.getOriginalMessage());
        }
    }

    private static List<String> strings(JsonNode rule, String field) {
        JsonNode list = rule.get(field);
        if (list == null || list.isNull()) {
            return List.of();
        }
        if (!list.isArray()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "'" + field + "' must be a list of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : list) {
            if (!item.isTextual()) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "'" + field + "' must be a list of strings");
            }
            out.add(item.asText());
        }
        return out;
    }

    private static Right right(String name) {
        try {
            return Right.valueOf(name.trim().toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new StoreException(ErrorCode.INVALID_PARAMS,
                    "unknown right '" + name + "'; rights are read, write, mount, admin");
        }
    }

    private void admin(HttpServerRequest request) {
        access.check(() -> RestCaller.of(request), Right.ADMIN, null);
    }
}
