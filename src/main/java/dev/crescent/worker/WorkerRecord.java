package dev.crescent.worker;

import io.quarkus.runtime.annotations.RegisterForReflection;

import java.util.List;

/**
 * What a worker publishes about itself in the metadata store ({@code workers/<client id>}), bound to the same
 * lease as its segment descriptors: present exactly while the worker lives.
 */
@RegisterForReflection
public record WorkerRecord(String clientId, String node, List<String> segments, String endpoint) {}
