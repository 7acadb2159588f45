package dev.crescent.protocol;

import java.util.List;

/**
 * Answer to a put start that carried the object's bytes ({@link MasterClient#putStartInline}): either the master
 * wrote them and committed the put ({@code committed}, no replicas: the object is readable and durable), or the
 * replicas to write, after which the caller ends the put as after any put start.
 */
public record StartedPut(List<ReplicaDescriptor> replicas, boolean committed) {
    public static final StartedPut COMMITTED = new StartedPut(List.of(), true);

    /** The caller still has to write these replicas and end the put. */
    public static StartedPut toWrite(List<ReplicaDescriptor> replicas) {
        return new StartedPut(replicas, false);
    }
}
