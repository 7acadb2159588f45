package dev.crescent.api.rest;

import dev.crescent.common.Right;
import dev.crescent.config.CrescentConfig;
import dev.crescent.transfer.topology.Topology;
import dev.crescent.transfer.topology.TopologyDiscovery;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;

import java.util.Set;

/** Admin views of this node. */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {
    private final CrescentConfig.TransferConfig.TopologyConfig topology;
    private final RestCalls rest;

    public AdminResource(CrescentConfig config, RestCalls rest) {
        this.topology = config.transfer().topology();
        this.rest = rest;
    }

    /** NUMA nodes, NICs, RDMA devices, GPUs and the NIC priority matrix per memory location (read fresh). */
    @GET
    @Path("topology")
    public Topology topology(@Context HttpServerRequest request) {
        return rest.call(
                "topology",
                request,
                Right.ADMIN,
                null,
                () -> new TopologyDiscovery(java.nio.file.Path.of(topology.sysfsRoot()))
                        .discover(
                                topology.nicAllow().orElse(Set.of()),
                                topology.nicDeny().orElse(Set.of())));
    }
}
