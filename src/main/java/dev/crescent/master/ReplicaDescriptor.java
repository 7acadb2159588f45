package dev.crescent.master;

/** Where a client writes or reads one replica: segment name, its transfer endpoint, and the byte range. */
public record ReplicaDescriptor(String segment, String endpoint, long offset, long length) {
}
