package dev.crescent.protocol;

/**
 * The values of a batch's keys, still arriving on the caller's connection: one entry per key, in the keys' order,
 * after the rest of the request ({@code BatchPutStartRequest.values_last}). Each is read as an {@link ArrivingValue}
 * is, from the socket straight into the memory placed for it, so a batch of large objects costs one round trip and
 * no copy onto the heap. Entries are asked for in increasing order; an entry not asked for, or not read, is skipped.
 */
public interface ArrivingValues {
    /**
     * Entry {@code index}'s value, or null when its writer sent none (an empty entry). Asked on the connection's
     * thread, while the call runs.
     *
     * @throws dev.crescent.common.StoreException INVALID_PARAMS: the request holds no value entry there (its fields
     *                                            are not laid out as it said), for this entry and every later one;
     *                                            TRANSFER_FAIL: the entry did not arrive (the connection is closed)
     */
    ArrivingValue of(int index);
}
