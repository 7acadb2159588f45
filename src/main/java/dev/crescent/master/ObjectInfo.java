package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.util.List;

/** What the admin API shows of one object; looking at it grants no lease and counts as no access. */
@RegisterForReflection
public record ObjectInfo(
        String key,
        long size,
        ObjectState state,
        String owner,
        List<ReplicaDescriptor> replicas,
        long putStartMillis,
        long completedMillis,
        long lastAccessMillis,
        long accessCount,
        long leaseDeadlineMillis,
        boolean hardPin,
        long softPinDeadlineMillis) {}
