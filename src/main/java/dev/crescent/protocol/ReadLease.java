package dev.crescent.protocol;

/**
 * A read lease a reader holds: the key it read and the id the master answered with the replicas. The reader hands
 * it back once its transfer is over ({@link MasterClient#releaseLeases}).
 */
public record ReadLease(String key, long id) {

    /** The lease of a located object, or null when it ends by time only (id 0). */
    public static ReadLease of(String key, ObjectLocation location) {
        return location.leaseId() == 0 ? null : new ReadLease(key, location.leaseId());
    }
}
