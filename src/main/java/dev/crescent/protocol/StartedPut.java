package dev.crescent.protocol;

import java.util.List;

/**
 * Answer to a put start that carried the object's bytes ({@link MasterClient#putStartInline}) or named the space they
 * were written into ({@link MasterClient#putStartNear}): either the master committed the put ({@code committed}, no
 * replicas: the object is readable and durable), or the replicas to write, after which the caller ends the put as
 * after any put start.
 *
 * @param space space granted ahead for the caller's next put of this size, or null
 */
public record StartedPut(List<ReplicaDescriptor> replicas, boolean committed, PutSpace space) {
    public static final StartedPut COMMITTED = new StartedPut(List.of(), true, null);

    /** The caller still has to write these replicas and end the put. */
    public static StartedPut toWrite(List<ReplicaDescriptor> replicas) {
        return new StartedPut(replicas, false, null);
    }

    /** This answer with {@code granted} space for the caller's next put (null: none). */
    public StartedPut withSpace(PutSpace granted) {
        return new StartedPut(replicas, committed, granted);
    }
}
