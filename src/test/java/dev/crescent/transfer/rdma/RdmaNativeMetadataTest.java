package dev.crescent.transfer.rdma;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.transfer.shm.Futex;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A native image can only make the downcalls its metadata registers (the verbs shim's and the futex syscall): keep the two in step. */
class RdmaNativeMetadataTest {

    @Test
    void everyShimSignatureIsRegisteredForNativeImage() throws IOException {
        Set<String> registered = new HashSet<>();
        try (InputStream in = getClass()
                .getResourceAsStream("/META-INF/native-image/dev.crescent/crescent/reachability-metadata.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            for (JsonNode downcall : root.path("foreign").path("downcalls")) {
                StringBuilder parameters = new StringBuilder();
                downcall.path("parameterTypes")
                        .forEach(p -> parameters.append(p.asText()).append(','));
                boolean critical = downcall.path("options").has("critical");
                JsonNode variadic = downcall.path("options").path("firstVariadicArg");
                registered.add(downcall.path("returnType").asText() + "(" + parameters + ")" + (critical ? "!" : "")
                        + (variadic.isMissingNode() ? "" : "..." + variadic.asInt()));
            }
            assertEquals(
                    "native/linux-x86_64/libcrescent_rdma.so",
                    root.path("resources").get(0).path("glob").asText());
            assertEquals(
                    RdmaShim.BUNDLED.substring(1),
                    root.path("resources").get(0).path("glob").asText());
        }
        Set<String> needed = RdmaShim.FUNCTIONS.entrySet().stream()
                .map(e -> spell(e.getValue()) + (RdmaShim.CRITICAL.contains(e.getKey()) ? "!" : ""))
                .collect(Collectors.toCollection(HashSet::new));
        needed.add(spell(Futex.SYSCALL) + "..." + Futex.FIRST_VARIADIC);
        assertEquals(needed, registered);
    }

    private static String spell(FunctionDescriptor descriptor) {
        StringBuilder parameters = new StringBuilder();
        descriptor.argumentLayouts().forEach(l -> parameters.append(type(l)).append(','));
        return descriptor.returnLayout().map(RdmaNativeMetadataTest::type).orElse("void") + "(" + parameters + ")";
    }

    private static String type(MemoryLayout layout) {
        if (layout instanceof AddressLayout) {
            return "void*";
        }
        if (layout instanceof ValueLayout.OfInt) {
            return "jint";
        }
        if (layout instanceof ValueLayout.OfLong) {
            return "jlong";
        }
        if (layout instanceof ValueLayout.OfShort) {
            return "jshort";
        }
        throw new AssertionError("no native-image spelling for " + layout);
    }
}
