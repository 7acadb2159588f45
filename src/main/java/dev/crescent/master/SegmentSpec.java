package dev.crescent.master;

/** A segment a client asks the master to mount: its name, size and transfer endpoint. */
public record SegmentSpec(String name, long capacity, String endpoint) {
}
