package dev.crescent.transfer.shm;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.worker.WorkerSegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The shm transport maps only the segment file of the segment a request names, in a shared-memory directory, never
 * through a link; segment files are their owner's alone unless a group is configured (hardening issue, D3 and D4).
 */
class ShmTransportTest {
    @TempDir
    Path shm;

    private ShmTransport transport;
    private WorkerSegment victim;

    @BeforeEach
    void setUp() {
        transport = new ShmTransport(Set.of(shm));
        victim = WorkerSegment.create("victim", 1 << 16, shm);
        victim.memory().set(ValueLayout.JAVA_BYTE, 0, (byte) 42);
    }

    @AfterEach
    void tearDown() {
        transport.close();
        victim.close();
    }

    @Test
    void aSegmentsOwnFileIsMappedAndMoved() {
        byte[] got = new byte[1];
        transport.submit(read("victim", victim.backingFile(), got)).join();
        assertEquals(42, got[0]);
    }

    @Test
    void anEndpointNamingAFileOutsideTheSharedMemoryDirectoriesIsRefused() throws Exception {
        Path secret = Files.writeString(Files.createTempFile("secret", ".txt"), "root:x:0:0");
        try {
            assertRefused(read("evil", secret, new byte[4]));
            assertRefused(write("evil", secret, new byte[] {1, 2, 3, 4}));
            assertEquals("root:x:0:0", Files.readString(secret), "nothing was written");
        } finally {
            Files.delete(secret);
        }
    }

    @Test
    void anEndpointNamingAnotherSegmentsFileIsRefused() {
        assertRefused(read("evil", victim.backingFile(), new byte[1]));
        assertRefused(write("evil", victim.backingFile(), new byte[] {7}));
        assertEquals(42, victim.memory().get(ValueLayout.JAVA_BYTE, 0), "the victim's bytes are untouched");
    }

    @Test
    void aLinkDressedAsASegmentFileIsNotFollowed() throws Exception {
        Path link = Files.createSymbolicLink(ShmFiles.file(shm, "evil", 1), victim.backingFile());
        assertRefused(read("evil", link, new byte[1]));
        assertRefused(read("evil", Path.of(shm + "/../" + shm.getFileName() + "/" + link.getFileName()), new byte[1]));
    }

    @Test
    void segmentFilesAreReadableByTheirOwnerOnly() throws Exception {
        PosixFileAttributes attributes = Files.readAttributes(victim.backingFile(), PosixFileAttributes.class);
        assertEquals("rw-------", PosixFilePermissions.toString(attributes.permissions()));
    }

    @Test
    void aConfiguredGroupMayReadAndWriteTheFileToo() throws Exception {
        String group =
                Files.readAttributes(shm, PosixFileAttributes.class).group().getName();
        try (WorkerSegment shared = WorkerSegment.create("shared", 1 << 16, shm, group)) {
            PosixFileAttributes attributes = Files.readAttributes(shared.backingFile(), PosixFileAttributes.class);
            assertEquals("rw-rw----", PosixFilePermissions.toString(attributes.permissions()));
            assertEquals(group, attributes.group().getName());
        }
    }

    private TransferRequest read(String segment, Path file, byte[] into) {
        return request(TransferOp.READ, segment, file, into);
    }

    private TransferRequest write(String segment, Path file, byte[] from) {
        return request(TransferOp.WRITE, segment, file, from);
    }

    private static TransferRequest request(TransferOp op, String segment, Path file, byte[] bytes) {
        String endpoint = new PeerAddress(HostId.current(), "", file.toString()).format();
        return new TransferRequest(op, MemorySegment.ofArray(bytes), segment, endpoint, 0);
    }

    private void assertRefused(TransferRequest request) {
        CompletionException failed = assertThrows(
                CompletionException.class, () -> transport.submit(request).join());
        StoreException cause = assertInstanceOf(StoreException.class, failed.getCause());
        assertEquals(ErrorCode.TRANSFER_FAIL, cause.code(), cause.getMessage());
    }

    @Test
    void theRefusedFilesBytesNeverReachTheCaller() throws Exception {
        Path secret = Files.write(Files.createTempFile("secret", ".bin"), new byte[] {9, 9, 9, 9});
        try {
            byte[] got = new byte[4];
            assertRefused(read("evil", secret, got));
            assertArrayEquals(new byte[4], got);
        } finally {
            Files.delete(secret);
        }
    }
}
