package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.FileCleanup;
import dev.crescent.common.StoreException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Java bindings (FFM downcalls, hand-written) to Crescent's libibverbs shim, {@code src/main/native/crescent_rdma.c}.
 * The shim is built into the jar where libibverbs' headers are and loaded only when the rdma transport is enabled;
 * loading fails with a message that names the cause (no shim in this build, or no libibverbs on this machine).
 *
 * <p>The Java side knows only the shim's functions and its two structs, never the verbs structs, whose layout
 * changes between rdma-core versions.
 */
public final class RdmaShim {
    public static final String BUNDLED = "/native/linux-x86_64/libcrescent_rdma.so";
    static final int ABI_VERSION = 1;
    /** struct crs_port: lid u16, state u8, link_layer u8, active_mtu u32, gid[16]. */
    static final MemoryLayout PORT = MemoryLayout.structLayout(
            JAVA_SHORT.withName("lid"),
            JAVA_BYTE.withName("state"),
            JAVA_BYTE.withName("link_layer"),
            JAVA_INT.withName("active_mtu"),
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("gid"));
    /** struct crs_completion: wr_id u64, status i32, byte_len u32. */
    static final MemoryLayout COMPLETION = MemoryLayout.structLayout(
            JAVA_LONG.withName("wr_id"), JAVA_INT.withName("status"), JAVA_INT.withName("byte_len"));

    public static final int PORT_ACTIVE = 4;
    public static final int ACCESS_ALL = 1 | 2 | 4; // LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ

    private final MethodHandle abiVersion;
    private final MethodHandle lastError;
    private final MethodHandle deviceCount;
    private final MethodHandle deviceName;
    private final MethodHandle open;
    private final MethodHandle close;
    private final MethodHandle queryDevice;
    private final MethodHandle queryPort;
    private final MethodHandle allocPd;
    private final MethodHandle deallocPd;
    private final MethodHandle regMr;
    private final MethodHandle deregMr;
    private final MethodHandle createCq;
    private final MethodHandle destroyCq;
    private final MethodHandle createQp;
    private final MethodHandle destroyQp;
    private final MethodHandle qpInit;
    private final MethodHandle qpRtr;
    private final MethodHandle qpRts;
    private final MethodHandle postRdma;
    private final MethodHandle pollCq;
    private final MethodHandle wcStatusString;

    /** Every shim function and its signature (the native-image metadata registers the same, see its test). */
    static final Map<String, FunctionDescriptor> FUNCTIONS = Map.ofEntries(
            Map.entry("crs_abi_version", FunctionDescriptor.of(JAVA_INT)),
            Map.entry("crs_last_error", FunctionDescriptor.of(ADDRESS)),
            Map.entry("crs_device_count", FunctionDescriptor.of(JAVA_INT)),
            Map.entry("crs_device_name", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT)),
            Map.entry("crs_open", FunctionDescriptor.of(ADDRESS, ADDRESS)),
            Map.entry("crs_close", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            Map.entry("crs_query_device", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS)),
            Map.entry("crs_query_port", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS)),
            Map.entry("crs_alloc_pd", FunctionDescriptor.of(ADDRESS, ADDRESS)),
            Map.entry("crs_dealloc_pd", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            Map.entry(
                    "crs_reg_mr",
                    FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS)),
            Map.entry("crs_dereg_mr", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            Map.entry("crs_create_cq", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT)),
            Map.entry("crs_destroy_cq", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            Map.entry("crs_create_qp", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS)),
            Map.entry("crs_destroy_qp", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            Map.entry("crs_qp_init", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
            Map.entry(
                    "crs_qp_rtr",
                    FunctionDescriptor.of(
                            JAVA_INT,
                            ADDRESS,
                            JAVA_INT,
                            JAVA_INT,
                            JAVA_INT,
                            JAVA_SHORT,
                            ADDRESS,
                            JAVA_INT,
                            JAVA_INT,
                            JAVA_INT)),
            Map.entry("crs_qp_rts", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
            Map.entry(
                    "crs_post_rdma",
                    FunctionDescriptor.of(
                            JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT)),
            Map.entry("crs_poll_cq", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS)),
            Map.entry("crs_wc_status_str", FunctionDescriptor.of(ADDRESS, JAVA_INT)));
    /** The two calls on the data path are short and never block: no thread-state transition is needed. */
    static final Set<String> CRITICAL = Set.of("crs_post_rdma", "crs_poll_cq");

    private RdmaShim(SymbolLookup lib) {
        Map<String, MethodHandle> handles = new HashMap<>();
        Linker linker = Linker.nativeLinker();
        FUNCTIONS.forEach((name, descriptor) -> handles.put(
                name,
                CRITICAL.contains(name)
                        ? linker.downcallHandle(symbol(lib, name), descriptor, Linker.Option.critical(false))
                        : linker.downcallHandle(symbol(lib, name), descriptor)));
        abiVersion = handles.get("crs_abi_version");
        lastError = handles.get("crs_last_error");
        deviceCount = handles.get("crs_device_count");
        deviceName = handles.get("crs_device_name");
        open = handles.get("crs_open");
        close = handles.get("crs_close");
        queryDevice = handles.get("crs_query_device");
        queryPort = handles.get("crs_query_port");
        allocPd = handles.get("crs_alloc_pd");
        deallocPd = handles.get("crs_dealloc_pd");
        regMr = handles.get("crs_reg_mr");
        deregMr = handles.get("crs_dereg_mr");
        createCq = handles.get("crs_create_cq");
        destroyCq = handles.get("crs_destroy_cq");
        createQp = handles.get("crs_create_qp");
        destroyQp = handles.get("crs_destroy_qp");
        qpInit = handles.get("crs_qp_init");
        qpRtr = handles.get("crs_qp_rtr");
        qpRts = handles.get("crs_qp_rts");
        postRdma = handles.get("crs_post_rdma");
        pollCq = handles.get("crs_poll_cq");
        wcStatusString = handles.get("crs_wc_status_str");
    }

    /** The bundled shim, or the one at {@code path} when given; throws TRANSFER_FAIL naming why it cannot load. */
    public static RdmaShim load(Path path) {
        Path library = path != null ? path : extractBundled();
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            throw unavailable("cannot load the verbs shim " + library + " (" + e.getMessage()
                    + "); it needs libibverbs.so.1: install rdma-core (Debian: libibverbs1)");
        } catch (LinkageError e) {
            // A runtime without foreign-function support (a native image built without it): no RDMA, not a crash.
            throw unavailable("this runtime cannot call native libraries (" + e + ")");
        } finally {
            // A loaded library stays mapped once its file is gone, so the unpacked copy goes at once: a process killed
            // before it exits (deleteOnExit never runs then) would leave it in the temporary directory.
            if (path == null) {
                FileCleanup.deleteIfPresent(library); // when it cannot go now, deleteOnExit still may
            }
        }
        RdmaShim shim;
        try {
            shim = new RdmaShim(lookup);
        } catch (LinkageError | UnsupportedOperationException e) {
            throw unavailable("this runtime cannot make native downcalls (" + e + ")");
        }
        int version = shim.abiVersion();
        if (version != ABI_VERSION) {
            throw unavailable(
                    "the verbs shim " + library + " has ABI " + version + ", this build needs " + ABI_VERSION);
        }
        return shim;
    }

    static StoreException unavailable(String why) {
        return new StoreException(ErrorCode.TRANSFER_FAIL, "RDMA unavailable: " + why);
    }

    private static Path extractBundled() {
        try (InputStream in = RdmaShim.class.getResourceAsStream(BUNDLED)) {
            if (in == null) {
                throw unavailable("this build has no verbs shim; it is compiled where libibverbs' headers are "
                        + "(Debian: apt install libibverbs-dev, then rebuild)");
            }
            Path file = Files.createTempFile("crescent_rdma", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            return file;
        } catch (IOException e) {
            throw unavailable("cannot unpack the verbs shim: " + e.getMessage());
        }
    }

    private static MemorySegment symbol(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> unavailable("the verbs shim lacks " + name));
    }

    // ---- calls -------------------------------------------------------------------------------------------------

    public int abiVersion() {
        try {
            return (int) abiVersion.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Devices libibverbs sees: 0 when the kernel has no RDMA support or no device. */
    public int deviceCount() {
        try {
            int n = (int) deviceCount.invokeExact();
            if (n < 0) {
                throw failure("ibv_get_device_list", n);
            }
            return n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public String deviceName(int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(64);
            check("device name", (int) deviceName.invokeExact(index, name, 64));
            return name.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment open(String device) {
        try (Arena arena = Arena.ofConfined()) {
            return handle("open " + device, (MemorySegment) open.invokeExact(arena.allocateFrom(device)));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void close(MemorySegment context) {
        call("close device", close, context);
    }

    /** max_mr_size of the device. */
    public long maxRegionBytes(MemorySegment context) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment maxMr = arena.allocate(JAVA_LONG);
            MemorySegment maxWr = arena.allocate(JAVA_INT);
            MemorySegment maxCqe = arena.allocate(JAVA_INT);
            check("ibv_query_device", (int) queryDevice.invokeExact(context, maxMr, maxWr, maxCqe));
            return maxMr.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public record Port(int lid, int state, int linkLayer, int activeMtu, byte[] gid) {
        public boolean active() {
            return state == PORT_ACTIVE;
        }
    }

    public Port queryPort(MemorySegment context, int port, int gidIndex) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(PORT);
            check("ibv_query_port", (int) queryPort.invokeExact(context, port, gidIndex, out));
            return new Port(
                    Short.toUnsignedInt(out.get(JAVA_SHORT, 0)),
                    out.get(JAVA_BYTE, 2),
                    out.get(JAVA_BYTE, 3),
                    out.get(JAVA_INT, 4),
                    out.asSlice(8, 16).toArray(JAVA_BYTE));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment allocPd(MemorySegment context) {
        return handleCall("ibv_alloc_pd", allocPd, context);
    }

    public void deallocPd(MemorySegment pd) {
        call("ibv_dealloc_pd", deallocPd, pd);
    }

    /** A registered memory region with its local and remote keys. */
    public record Region(MemorySegment handle, int lkey, int rkey) {}

    public Region registerMemory(MemorySegment pd, MemorySegment memory, int access) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lkey = arena.allocate(JAVA_INT);
            MemorySegment rkey = arena.allocate(JAVA_INT);
            MemorySegment mr = handle("ibv_reg_mr of " + memory.byteSize() + " bytes", (MemorySegment)
                    regMr.invokeExact(pd, memory, memory.byteSize(), access, lkey, rkey));
            return new Region(mr, lkey.get(JAVA_INT, 0), rkey.get(JAVA_INT, 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void deregisterMemory(MemorySegment mr) {
        call("ibv_dereg_mr", deregMr, mr);
    }

    public MemorySegment createCq(MemorySegment context, int entries) {
        try {
            return handle("ibv_create_cq", (MemorySegment) createCq.invokeExact(context, entries));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyCq(MemorySegment cq) {
        call("ibv_destroy_cq", destroyCq, cq);
    }

    public record CreatedQp(MemorySegment handle, int number) {}

    public CreatedQp createQp(MemorySegment pd, MemorySegment cq, int maxWorkRequests) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment number = arena.allocate(JAVA_INT);
            MemorySegment qp =
                    handle("ibv_create_qp", (MemorySegment) createQp.invokeExact(pd, cq, maxWorkRequests, number));
            return new CreatedQp(qp, number.get(JAVA_INT, 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyQp(MemorySegment qp) {
        call("ibv_destroy_qp", destroyQp, qp);
    }

    public void qpInit(MemorySegment qp, int port) {
        try {
            check("modify QP to INIT", (int) qpInit.invokeExact(qp, port));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void qpReadyToReceive(MemorySegment qp, int port, RdmaHandshake remote, int gidIndex) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment gid = arena.allocateFrom(JAVA_BYTE, remote.gid());
            check("modify QP to RTR", (int) qpRtr.invokeExact(
                    qp,
                    port,
                    remote.qpNumber(),
                    remote.psn(),
                    (short) remote.lid(),
                    gid,
                    remote.addressedByGid() ? 1 : 0,
                    gidIndex,
                    remote.mtu()));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void qpReadyToSend(MemorySegment qp, int psn) {
        try {
            check("modify QP to RTS", (int) qpRts.invokeExact(qp, psn));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Posts one signaled RDMA READ (op 1) or WRITE (op 2); @return 0 or a negative errno (queue full: -ENOMEM). */
    public int postRdma(
            MemorySegment qp, int op, long workRequestId, MemorySegment local, int lkey, long remote, int rkey) {
        try {
            return (int) postRdma.invokeExact(qp, op, workRequestId, local, (int) local.byteSize(), lkey, remote, rkey);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Polls up to {@code max} completions into {@code out} (laid out as {@link #COMPLETION}); @return how many. */
    public int pollCq(MemorySegment cq, int max, MemorySegment out) {
        try {
            return (int) pollCq.invokeExact(cq, max, out);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public String completionStatusName(int status) {
        try {
            return ((MemorySegment) wcStatusString.invokeExact(status))
                    .reinterpret(128)
                    .getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private MemorySegment handleCall(String what, MethodHandle function, MemorySegment argument) {
        try {
            return handle(what, (MemorySegment) function.invokeExact(argument));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void call(String what, MethodHandle function, MemorySegment argument) {
        try {
            check(what, (int) function.invokeExact(argument));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private MemorySegment handle(String what, MemorySegment handle) {
        if (handle.equals(MemorySegment.NULL)) {
            throw new StoreException(ErrorCode.TRANSFER_FAIL, what + " failed: " + lastError());
        }
        return handle;
    }

    private void check(String what, int result) {
        if (result < 0) {
            throw failure(what, result);
        }
    }

    private StoreException failure(String what, int negativeErrno) {
        return new StoreException(
                ErrorCode.TRANSFER_FAIL,
                what + " failed: errno " + -negativeErrno + (lastError().isEmpty() ? "" : " (" + lastError() + ")"));
    }

    private String lastError() {
        try {
            return ((MemorySegment) lastError.invokeExact()).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "";
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new StoreException(ErrorCode.INTERNAL_ERROR, "verbs call failed: " + t, t);
    }
}
