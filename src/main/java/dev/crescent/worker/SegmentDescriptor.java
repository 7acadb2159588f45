package dev.crescent.worker;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * What a worker publishes about its segment in the metadata store ({@code segments/<name>}), lease-bound so it
 * vanishes with the worker: enough for a transfer engine to reach it.
 *
 * @param endpoint how to reach it ({@link dev.crescent.transfer.PeerAddress} form: host id, tcp, shm file)
 */
@RegisterForReflection
public record SegmentDescriptor(String name, long size, String endpoint, String location,
                                String owner) {
}
