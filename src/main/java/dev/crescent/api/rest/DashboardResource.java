package dev.crescent.api.rest;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Response;

import java.net.URI;

/**
 * {@code /ui} itself: the dashboard is static (META-INF/resources/ui, its charts from the uPlot WebJar) and served
 * at {@code /ui/}, whose relative links need the trailing slash.
 */
@Path("/ui")
public class DashboardResource {
    @GET
    public Response dashboard() {
        return Response.seeOther(URI.create("/ui/")).build();
    }
}
