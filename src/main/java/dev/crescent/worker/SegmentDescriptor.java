package dev.crescent.worker;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * What a worker publishes about its segment in the metadata store ({@code segments/<name>}), lease-bound so it
 * vanishes with the worker: enough for a transfer engine to reach it.
 *
 * @param endpoint transport endpoint (host:port), empty when only reachable in-process
 * @param shmFile  shared-memory file a same-host process can map, empty when the memory is private
 */
@RegisterForReflection
public record SegmentDescriptor(String name, long size, String endpoint, String shmFile, String location,
                                String owner) {
}
