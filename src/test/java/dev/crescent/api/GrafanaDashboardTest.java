package dev.crescent.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Grafana dashboard in k8s/ asks only for series the service exports: every metric a panel's query names is in
 * {@code /q/metrics} after some traffic, and every label a query groups by is on that metric (Prometheus adds
 * {@code job} and {@code instance} when it scrapes). A renamed metric or label fails here, not on an empty panel.
 */
@QuarkusTest
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("k8s/grafana-dashboard.json");
    /** A metric name is followed by its label selector in every query of the dashboard. */
    private static final Pattern METRIC = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\{");

    private static final Pattern GROUPING = Pattern.compile("by \\(([^)]*)\\)");
    private static final Set<String> SCRAPE_LABELS = Set.of("job", "instance");

    @Test
    void everyPanelQueriesSeriesTheServiceExports() throws IOException, InterruptedException {
        given().contentType("application/octet-stream")
                .body(new byte[4096])
                .put("/v1/objects/grafana/probe")
                .then()
                .statusCode(201);
        given().get("/v1/objects/grafana/probe").then().statusCode(200);
        // Tenant series exist once a tenant does (they are refreshed every second).
        given().contentType("application/json")
                .body(java.util.Map.of("prefix", "grafana-tenant/", "quotaBytes", 1 << 20))
                .put("/v1/tenants/grafana")
                .then()
                .statusCode(204);
        String exported = "";
        long deadline = System.currentTimeMillis() + 5_000;
        while (!exported.contains("crescent_tenant_used_bytes{") && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
            exported =
                    given().get("/q/metrics").then().statusCode(200).extract().asString();
        }
        given().delete("/v1/tenants/grafana").then().statusCode(204);

        List<String> queries = queries(new ObjectMapper().readTree(DASHBOARD.toFile()));
        assertTrue(queries.size() >= 12, "the dashboard's queries: " + queries);
        for (String query : queries) {
            Set<String> metrics = new LinkedHashSet<>();
            for (Matcher m = METRIC.matcher(query); m.find(); ) {
                metrics.add(m.group(1));
            }
            assertFalse(metrics.isEmpty(), "a query naming no metric: " + query);
            for (String metric : metrics) {
                List<String> series = series(exported, metric);
                assertFalse(series.isEmpty(), metric + " is not exported (query: " + query + ")");
                for (Matcher m = GROUPING.matcher(query); m.find(); ) {
                    for (String label : m.group(1).split(",\\s*")) {
                        if (!SCRAPE_LABELS.contains(label)) {
                            assertTrue(
                                    series.stream().anyMatch(s -> s.contains(label + "=\"")),
                                    metric + " has no label " + label + " (query: " + query + ")");
                        }
                    }
                }
            }
        }
    }

    private static List<String> queries(JsonNode dashboard) {
        List<String> queries = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                queries.add(target.path("expr").asText());
            }
        }
        return queries;
    }

    /** The exported sample lines of {@code metric} (its name, then labels or a space). */
    private static List<String> series(String exported, String metric) {
        return exported.lines()
                .filter(line -> line.startsWith(metric + "{") || line.startsWith(metric + " "))
                .toList();
    }
}
