package dev.crescent.master;

import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Lease ids a reader cannot guess: releasing a lease needs its id, so one reader cannot end another's lease early
 * (which would let the memory under a transfer in flight be reused). Random bytes are drawn a buffer at a time, so
 * an id costs no system call, from the JDK's DRBG (NIST SP 800-90A, seeded from the system's entropy at run time):
 * the default {@code NativePRNG} reads /dev/urandom and mixes in SHA1PRNG for every draw, 0.069 us per id against
 * 0.016, which was a percent or two of the master's time in batched gets (every key read takes a lease). Created at
 * run time, never in a native image's heap.
 */
final class LeaseIds {
    private static final int IDS_PER_DRAW = 512;

    private final SecureRandom random = drbg();
    private final ByteBuffer drawn =
            ByteBuffer.allocate(IDS_PER_DRAW * Long.BYTES).position(IDS_PER_DRAW * Long.BYTES);

    private static SecureRandom drbg() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK's DRBG is missing", e); // every JDK since 9 has it
        }
    }

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
