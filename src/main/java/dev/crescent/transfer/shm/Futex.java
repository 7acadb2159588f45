package dev.crescent.transfer.shm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Linux futexes on words in shared memory, so one process can sleep until another changes a word both map: the
 * wake-up of a {@link RequestRing}. A downcall to libc's {@code syscall(SYS_futex, ...)}, without the private flag
 * (the words live in files several processes map). Where this runtime cannot make downcalls (a native executable
 * built without GraalVM's FFM support) {@link #available()} is false and nothing here may be called.
 */
public final class Futex {
    private static final long SYS_FUTEX = 202; // x86-64
    private static final long FUTEX_WAIT = 0;
    private static final long FUTEX_WAKE = 1;

    /** {@code long syscall(long number, ...)} with six variadic longs: the native-image metadata registers it. */
    public static final FunctionDescriptor SYSCALL = FunctionDescriptor.of(
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);

    /** Where the variadic arguments of {@link #SYSCALL} start. */
    public static final int FIRST_VARIADIC = 1;

    /**
     * The downcall, linked on first use (null: none in this runtime). Not a constant: a native-image builder that
     * initialised this class early would fold a constant handle into a direct native call, which a builder without
     * GraalVM's FFM support cannot compile (it failed the build); a handle read from a plain field is called through
     * the generic path, as RdmaShim's are.
     */
    private static volatile MethodHandle call;
    /** Set once {@link #call} holds what linking gave (written after it). */
    private static volatile boolean linked;

    private Futex() {}

    /** Whether futexes can be used in this runtime (linux-x86_64 with FFM downcalls). */
    public static boolean available() {
        return handle() != null;
    }

    private static MethodHandle handle() {
        if (!linked) {
            synchronized (Futex.class) {
                if (!linked) {
                    call = linked();
                    linked = true;
                }
            }
        }
        return call;
    }

    /**
     * Sleeps while the int at {@code word} holds {@code expected}, until woken or {@code timeoutNanos} passed (it may
     * also return early, spuriously): the caller checks the word again.
     */
    public static void await(MemorySegment word, int expected, long timeoutNanos) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment timeout = arena.allocate(16, 8);
            timeout.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
            timeout.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
            call(word, FUTEX_WAIT, expected, timeout.address());
        }
    }

    /** Wakes every process sleeping on the int at {@code word}. */
    public static void wakeAll(MemorySegment word) {
        call(word, FUTEX_WAKE, Integer.MAX_VALUE, 0);
    }

    private static void call(MemorySegment word, long operation, long value, long timeout) {
        try {
            long ignored = (long) handle().invokeExact(SYS_FUTEX, word.address(), operation, value, timeout, 0L, 0L);
        } catch (Throwable e) {
            throw new IllegalStateException("futex call failed", e);
        }
    }

    private static MethodHandle linked() {
        if (!"amd64".equals(System.getProperty("os.arch"))
                || !System.getProperty("os.name", "").equals("Linux")) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            MemorySegment syscall = linker.defaultLookup().find("syscall").orElse(null);
            return syscall == null
                    ? null
                    : linker.downcallHandle(syscall, SYSCALL, Linker.Option.firstVariadicArg(FIRST_VARIADIC));
        } catch (RuntimeException | Error e) {
            // No downcalls in this runtime (a native executable built without GraalVM's FFM support throws its
            // UnsupportedFeatureError, an Error, from the symbol lookup): rings stay off, calls go over the socket.
            return null;
        }
    }
}
