package dev.crescent.client;

import dev.crescent.protocol.MasterWire;
import io.grpc.MethodDescriptor;

/**
 * A fixed set of master methods, asked about by wire id on every call: a bit per id (ids are one byte on the wire),
 * not a set of boxed ids, whose lookup was a thirtieth of the client's CPU in a 4 KiB put.
 */
final class MethodSet {
    private static final int IDS = 256;
    private final long[] bits = new long[IDS / Long.SIZE];

    MethodSet(MethodDescriptor<?, ?>... methods) {
        for (MethodDescriptor<?, ?> method : methods) {
            int id = MasterWire.id(method);
            bits[id >>> 6] |= 1L << id;
        }
    }

    boolean contains(int id) {
        return id >= 0 && id < IDS && (bits[id >>> 6] & 1L << id) != 0;
    }
}
