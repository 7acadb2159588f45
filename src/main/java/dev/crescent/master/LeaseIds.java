package dev.crescent.master;

import java.nio.ByteBuffer;
import java.security.SecureRandom;

/**
 * Lease ids a reader cannot guess: releasing a lease needs its id, so one reader cannot end another's lease early
 * (which would let the memory under a transfer in flight be reused). Random bytes are drawn a buffer at a time, so
 * an id costs no system call. Created at run time, never in a native image's heap.
 */
final class LeaseIds {
    private static final int IDS_PER_DRAW = 512;

    private final SecureRandom random = new SecureRandom();
    private final ByteBuffer drawn =
            ByteBuffer.allocate(IDS_PER_DRAW * Long.BYTES).position(IDS_PER_DRAW * Long.BYTES);

    /** A fresh id, never 0 (0 stands for a lease that is not tracked). */
    synchronized long next() {
        long id = 0;
        while (id == 0) {
            if (!drawn.hasRemaining()) {
                random.nextBytes(drawn.array());
                drawn.clear();
            }
            id = drawn.getLong();
        }
        return id;
    }
}
