package dev.crescent.api.wire;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.StringValue;
import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.FileCleanup;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.Caller;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.shm.Futex;
import dev.crescent.transfer.shm.RequestRing;
import dev.crescent.transfer.shm.ShmFiles;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The request rings this master's wire connections may open: where their files go (beside segment files, with the
 * same owner-only or group mode, {@link ShmFiles}), and how many may be open at once, each with its serving thread.
 */
final class WireRings {
    static final int SLOTS = 16;
    /** A put start's request and answer take a few hundred bytes; a request that does not fit goes over the socket. */
    static final int PAYLOAD_BYTES = 16 << 10;

    private final Path directory;
    private final String group;
    private final int most;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong named = new AtomicLong();

    /**
     * @param directory where ring files go (a shared-memory directory)
     * @param group     a group that may map them besides this process's user; null: none
     * @param most      how many may be open at once (0: none)
     */
    WireRings(Path directory, String group, int most) {
        this.directory = directory;
        this.group = group;
        this.most = most;
    }

    /**
     * {@link #open} for a {@link dev.crescent.protocol.MasterWire#RING_OPEN} request's message, which names the
     * caller's host, on a connection whose ring is {@code current} (null: none yet).
     *
     * @throws StoreException INVALID_PARAMS for a connection with a ring already or an unreadable message, or as
     *     {@link #open}
     */
    ServedRing open(
            ServedRing current,
            byte[] request,
            InetAddress remote,
            Caller caller,
            MasterGrpcService service,
            MasterWireHandlers handlers) {
        if (current != null) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "this connection has a request ring already");
        }
        String hostId;
        try {
            hostId = StringValue.parseFrom(request).getValue();
        } catch (InvalidProtocolBufferException e) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "unreadable ring request");
        }
        return open(hostId, remote, caller, service, handlers);
    }

    /**
     * Opens and starts serving a ring for a connection of {@code caller} from {@code remote} that says it runs on host
     * {@code hostId}. Both must hold: the host id alone is a claim, and a caller elsewhere that made it would hold one
     * of the rings (and its thread) for nothing.
     *
     * @throws StoreException UNSUPPORTED saying why this caller gets none (it calls over its socket)
     */
    ServedRing open(
            String hostId, InetAddress remote, Caller caller, MasterGrpcService service, MasterWireHandlers handlers) {
        if (most <= 0) {
            throw unsupported("this master opens no request rings (crescent.master.wire-rings=0)");
        }
        if (!Futex.available()) {
            throw unsupported("this master's runtime cannot wait on futexes");
        }
        if (!HostId.current().equals(hostId) || !onThisHost(remote)) {
            throw unsupported("the caller is not on this master's host");
        }
        if (!Files.isDirectory(directory)) {
            throw unsupported("no shared-memory directory " + directory);
        }
        if (open.incrementAndGet() > most) {
            open.decrementAndGet();
            throw unsupported("all " + most + " request rings are open");
        }
        Path file = ShmFiles.file(
                directory,
                "ring-" + named.incrementAndGet(),
                ProcessHandle.current().pid());
        try {
            ServedRing served = new ServedRing(created(file), file, caller, service, handlers, open::decrementAndGet);
            served.start();
            return served;
        } catch (IOException | RuntimeException e) {
            open.decrementAndGet();
            FileCleanup.deleteIfPresent(file); // else the next sweep of dead processes' files takes it
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot create request ring " + file + ": " + e, e);
        }
    }

    /** Whether a connection from {@code remote} comes from this host: loopback, or an address of its own. */
    static boolean onThisHost(InetAddress remote) {
        try {
            return remote.isLoopbackAddress() || NetworkInterface.getByInetAddress(remote) != null;
        } catch (SocketException e) {
            return false;
        }
    }

    /** A new ring in a new file, mapped until no thread holds it. */
    private RequestRing created(Path file) throws IOException {
        long bytes = RequestRing.fileBytes(SLOTS, PAYLOAD_BYTES);
        return RequestRing.format(ShmFiles.createMapped(file, group, bytes, Arena.ofAuto()), SLOTS, PAYLOAD_BYTES);
    }

    private static StoreException unsupported(String why) {
        return new StoreException(ErrorCode.UNSUPPORTED, "no request ring: " + why);
    }
}
