package dev.crescent.protocol;

/**
 * Space on a segment the writer maps, granted ahead for one later put of exactly {@code replica.length()} bytes
 * (issue 20): the writer copies the object's bytes into it, then a single put start naming the space makes the object
 * there. The master keeps it for the writer for {@code lifetimeMillis} from its answer, then may give the memory to
 * another put; so a writer uses it well within that.
 *
 * @param version held by the word at {@code replica.versionSlot()} of the segment's file while the space is the
 *                writer's: withdrawn before its memory can go to anything else, so a writer copies only after reading it
 */
public record PutSpace(long id, ReplicaDescriptor replica, long lifetimeMillis, long version) {}
