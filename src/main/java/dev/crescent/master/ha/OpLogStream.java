package dev.crescent.master.ha;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The frames between a leader and the standbys that hold its op-log batches before etcd does (the replication
 * listener of {@link OpLogReplica}). Every connection opens with the magic, a kind and the leader's token:
 * <ul>
 *   <li>{@code STREAM}: the leader sends {@code [sequence][length][batch]} frames, the standby answers each with the
 *       sequence it now holds;
 *   <li>{@code FETCH after}: a master that has just been elected asks for every batch held past {@code after} and
 *       gets {@code [count]} batches back; from then on the standby takes batches only from that master.
 * </ul>
 * The first answer to either is one byte: accepted, or refused (a token that is not the current leader's).
 */
final class OpLogStream {
    static final int MAGIC = 0x43524f4c; // "CROL"
    static final byte STREAM = 1;
    static final byte FETCH = 2;
    static final byte ACCEPTED = 1;
    static final byte REFUSED = 0;
    /** A batch is a list of at most 512 entries ({@link OpLogCodec}): far below this. */
    static final int MAX_BATCH_BYTES = 16 << 20;

    static final int MAX_TOKEN_BYTES = 64;

    /** An op-log batch by sequence: the bytes written to etcd under {@code oplog/<sequence>}. */
    record Batch(long sequence, byte[] value) {}

    private OpLogStream() {}

    /** The address of a standby's replication port ({@code host:port}, as published in etcd). */
    static InetSocketAddress addressOf(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    static void writeOpening(DataOutputStream out, byte kind, byte[] token) throws IOException {
        out.writeInt(MAGIC);
        out.writeByte(kind);
        out.writeShort(token.length);
        out.write(token);
    }

    /** How a connection opened: its kind ({@link #STREAM} or {@link #FETCH}) and the token shown. */
    record Opening(byte kind, byte[] token) {}

    /** @return the opening; null when the peer does not speak this protocol */
    static Opening readOpening(DataInputStream in) throws IOException {
        if (in.readInt() != MAGIC) {
            return null;
        }
        byte kind = in.readByte();
        int length = in.readUnsignedShort();
        if ((kind != STREAM && kind != FETCH) || length == 0 || length > MAX_TOKEN_BYTES) {
            return null;
        }
        return new Opening(kind, in.readNBytes(length));
    }

    static void writeBatch(DataOutputStream out, Batch batch) throws IOException {
        out.writeLong(batch.sequence());
        out.writeInt(batch.value().length);
        out.write(batch.value());
    }

    static Batch readBatch(DataInputStream in) throws IOException {
        long sequence = in.readLong();
        int length = in.readInt();
        if (length < 0 || length > MAX_BATCH_BYTES) {
            throw new IOException("op-log batch of " + length + " bytes");
        }
        byte[] value = in.readNBytes(length);
        if (value.length != length) {
            throw new IOException("op-log batch cut short");
        }
        return new Batch(sequence, value);
    }

    static void writeBatches(DataOutputStream out, List<Batch> batches) throws IOException {
        out.writeInt(batches.size());
        for (Batch batch : batches) {
            writeBatch(out, batch);
        }
    }

    static List<Batch> readBatches(DataInputStream in) throws IOException {
        int count = in.readInt();
        if (count < 0 || count > 1 << 20) {
            throw new IOException(count + " op-log batches");
        }
        List<Batch> batches = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            batches.add(readBatch(in));
        }
        return batches;
    }
}
