package dev.crescent.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.faulttolerance.api.Spi;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashSet;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The failover guard's library (SmallRye Fault Tolerance, standalone) finds its parts by service loading and by
 * class name, which a native image only allows for what is registered in the image metadata: every provider on the
 * class path and every logger implementation it names must be there, or the native service fails at start-up (it
 * did: "Could not find implementation of io.smallrye.faulttolerance.api.Spi"). A library upgrade that adds or
 * renames one fails here, not in a native build.
 */
class FailoverGuardNativeMetadataTest {
    private static final List<String> SERVICES = List.of(
            "io.smallrye.faulttolerance.api.Spi",
            "io.smallrye.faulttolerance.core.event.loop.EventLoop",
            "io.smallrye.faulttolerance.core.invocation.AsyncSupport");

    @Test
    void everyServiceProviderAndLoggerTheGuardLoadsIsRegistered() throws Exception {
        JsonNode metadata = metadata();
        Set<String> resources = new HashSet<>();
        metadata.path("resources").forEach(r -> resources.add(r.path("glob").asText()));
        Set<String> reflective = new HashSet<>();
        metadata.path("reflection").forEach(r -> reflective.add(r.path("type").asText()));

        for (String service : SERVICES) {
            assertTrue(resources.contains("META-INF/services/" + service), service + " is not a registered resource");
            ServiceLoader.load(Class.forName(service)).stream()
                    .forEach(provider -> assertTrue(
                            reflective.contains(provider.type().getName()),
                            provider.type().getName() + " (a " + service + ") is not registered for reflection"));
        }
        for (String type : reflective) {
            if (type.endsWith("_$logger")) {
                Class<?> logger = Class.forName(type);
                assertDoesNotThrow(() -> logger.getConstructor(org.jboss.logging.Logger.class), type);
            }
        }
        assertTrue(ServiceLoader.load(Spi.class).findFirst().isPresent());
    }

    private static JsonNode metadata() throws IOException {
        try (InputStream in = FailoverGuardNativeMetadataTest.class.getResourceAsStream(
                "/META-INF/native-image/dev.crescent/crescent/reachability-metadata.json")) {
            return new ObjectMapper().readTree(in);
        }
    }
}
