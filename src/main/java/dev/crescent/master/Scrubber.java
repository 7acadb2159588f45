package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;

import java.util.concurrent.CompletableFuture;

/**
 * Clears freed memory before it is handed out again, so that no reader ever sees bytes of an object that is gone
 * (a put that ends without writing would otherwise expose its predecessor's bytes). The master frees a range only
 * once its scrub has completed.
 */
public interface Scrubber {

    /**
     * Writes zeros over the range the descriptor names.
     *
     * @param range the range, with a WRITE ticket when access control is on
     * @return completes once the zeros are in place; fails when they could not be written
     */
    CompletableFuture<Void> zero(ReplicaDescriptor range);
}
