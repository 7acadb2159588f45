package dev.crescent.it;

import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.transfer.rdma.RdmaSettings;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * RDMA in the packaged jar. Where the kernel has no RDMA device (these machines), the no-device path runs for
 * real: with fallback the service starts on TCP and says why; with RDMA required it refuses to start and says why.
 * Where /sys/class/infiniband has devices, a put and get of registered buffers moves by RDMA; elsewhere that test
 * reports itself skipped.
 */
class RdmaIT {
    private static final boolean HAS_DEVICES = hasDevices();

    @Test
    void withoutADeviceTheServiceFallsBackToTcpAndSaysWhy() throws Exception {
        assumeFalse(HAS_DEVICES, "this machine has RDMA devices");
        try (CrescentProcess node = CrescentProcess.start("rdma-fallback", "crescent.transfer.rdma.enabled=true");
                CrescentClient client = CrescentClient.connect(ClientOptions.master("localhost:" + node.port())
                        .withSharedMemory(false)
                        .withRdma(RdmaSettings.defaults()))) {
            assertTrue(saysWhy(node.log()), node.log());
            assertTrue(node.log().contains("falling back to TCP"), node.log());
            MemorySegment value = client.allocate(1 << 20);
            value.fill((byte) 7);
            client.putFrom("rdma/fallback", value);
            MemorySegment back = client.allocate(1 << 20);
            assertEquals(1 << 20, client.getInto("rdma/fallback", back));
            assertEquals(-1, value.mismatch(back), "the bytes went over TCP");
        }
    }

    @Test
    void withoutADeviceAServiceThatRequiresRdmaRefusesToStart() {
        assumeFalse(HAS_DEVICES, "this machine has RDMA devices");
        IllegalStateException failed = assertThrows(
                IllegalStateException.class,
                () -> CrescentProcess.start(
                        "rdma-required",
                        "crescent.transfer.rdma.enabled=true",
                        "crescent.transfer.rdma.fallback-to-tcp=false"));
        assertTrue(saysWhy(failed.getMessage()), failed.getMessage());
    }

    /**
     * The reason RDMA is off: no device; or, for a native executable built with the toolchain assembled from Maven
     * Central (no foreign-function support, see DESIGN section 9), that it cannot call native code at all.
     */
    private static boolean saysWhy(String log) {
        return log.contains("RDMA unavailable: no RDMA device")
                || (CrescentProcess.isNative() && log.contains("RDMA unavailable: this runtime cannot call native"));
    }

    @Test
    void registeredBuffersMoveByRdma() throws Exception {
        assumeTrue(HAS_DEVICES, "no RDMA device under /sys/class/infiniband: skipped on this machine");
        try (CrescentProcess node = CrescentProcess.start(
                        "rdma-worker",
                        "crescent.transfer.rdma.enabled=true",
                        "crescent.transfer.rdma.fallback-to-tcp=false");
                CrescentClient client = CrescentClient.connect(ClientOptions.master("localhost:" + node.port())
                        .withSharedMemory(false)
                        .withRdma(RdmaSettings.defaults()))) {
            assertTrue(node.log().contains("RDMA on ["), node.log());
            MemorySegment value = client.allocate(8 << 20);
            for (long i = 0; i < value.byteSize(); i += 8) {
                value.set(ValueLayout.JAVA_LONG_UNALIGNED, i, i * 31);
            }
            client.putFrom("rdma/loopback", value);
            MemorySegment back = client.allocate(8 << 20);
            assertEquals(8 << 20, client.getInto("rdma/loopback", back));
            assertEquals(-1, value.mismatch(back));
        }
    }

    private static boolean hasDevices() {
        Path infiniband = Path.of("/sys/class/infiniband");
        try (var entries = Files.list(infiniband)) {
            return entries.findAny().isPresent();
        } catch (Exception e) {
            return false;
        }
    }
}
