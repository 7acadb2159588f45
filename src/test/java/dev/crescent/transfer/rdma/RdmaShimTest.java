package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The shim loaded through FFM against the machine's real libibverbs. The build compiles the shim wherever
 * libibverbs' headers are (bin/test installs libibverbs-dev), so this runs in CI; a build without them reports
 * these tests as skipped.
 */
class RdmaShimTest {
    private static final boolean HEADERS = Files.exists(Path.of("/usr/include/infiniband/verbs.h"));

    @Test
    void theBundledShimLoadsAndSeesTheSameDevicesAsSysfs() throws IOException {
        assumeTrue(HEADERS, "libibverbs-dev is not installed: the shim was not built");
        Set<Path> unpackedBefore = unpackedShims();
        RdmaShim shim = RdmaShim.load(null);
        assertEquals(RdmaShim.ABI_VERSION, shim.abiVersion());
        // Loaded and mapped, its unpacked copy is gone already (a killed process would leave it otherwise).
        assertTrue(
                unpackedBefore.containsAll(unpackedShims()), "the unpacked shim was left in the temporary directory");
        List<String> sysfs = new ArrayList<>();
        Path infiniband = Path.of("/sys/class/infiniband");
        if (Files.isDirectory(infiniband)) {
            try (Stream<Path> entries = Files.list(infiniband)) {
                entries.forEach(p -> sysfs.add(p.getFileName().toString()));
            }
        }
        assertEquals(sysfs.size(), shim.deviceCount());
        for (int i = 0; i < shim.deviceCount(); i++) {
            assertTrue(sysfs.contains(shim.deviceName(i)));
        }
        assertEquals("remote access error", shim.completionStatusName(10));
        StoreException absent = assertThrows(StoreException.class, () -> shim.open("no_such_device0"));
        assertEquals(ErrorCode.TRANSFER_FAIL, absent.code());
        assertTrue(absent.getMessage().contains("no_such_device0"), absent.getMessage());
    }

    @Test
    void withoutADeviceOpeningFailsWithTheCauseAndFallsBackToTcpWhenAllowed() {
        assumeTrue(HEADERS, "libibverbs-dev is not installed: the shim was not built");
        assumeTrue(!Files.isDirectory(Path.of("/sys/class/infiniband")), "this machine has RDMA devices");
        StoreException e = assertThrows(StoreException.class, () -> RdmaRuntime.open(RdmaSettings.defaults(), null));
        assertEquals(ErrorCode.TRANSFER_FAIL, e.code());
        assertTrue(e.getMessage().startsWith("RDMA unavailable: no RDMA device"), e.getMessage());

        List<String> warnings = new ArrayList<>();
        assertNull(RdmaRuntime.openOrFallBack(RdmaSettings.defaults(), null, warnings::add));
        assertEquals(1, warnings.size());
        assertTrue(warnings.getFirst().contains("no RDMA device")
                && warnings.getFirst().contains("TCP"));

        RdmaSettings required = withoutFallback(RdmaSettings.defaults());
        assertThrows(StoreException.class, () -> RdmaRuntime.openOrFallBack(required, null, warnings::add));
    }

    @Test
    void aShimThatCannotLoadIsNamedInTheError(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path notALibrary = Files.writeString(dir.resolve("libcrescent_rdma.so"), "not an ELF file");
        StoreException e = assertThrows(StoreException.class, () -> RdmaShim.load(notALibrary));
        assertEquals(ErrorCode.TRANSFER_FAIL, e.code());
        assertTrue(
                e.getMessage().contains(notALibrary.toString())
                        && e.getMessage().contains("libibverbs"),
                e.getMessage());
        assertThrows(StoreException.class, () -> RdmaShim.load(dir.resolve("missing.so")));
        assertTrue(Files.exists(notALibrary), "a shim the operator named is theirs, never deleted");
    }

    private static Set<Path> unpackedShims() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(p -> p.getFileName().toString().startsWith("crescent_rdma"))
                    .collect(Collectors.toSet());
        }
    }

    private static RdmaSettings withoutFallback(RdmaSettings s) {
        return new RdmaSettings(
                false,
                s.deviceAllow(),
                s.deviceDeny(),
                s.port(),
                s.gidIndex(),
                s.sliceBytes(),
                s.maxAttempts(),
                s.railErrorThreshold(),
                s.railPause(),
                s.endpointCacheSize(),
                s.queueDepth(),
                s.hugePages(),
                s.shimPath(),
                s.timeout(),
                s.serveWithAccessControl());
    }
}
