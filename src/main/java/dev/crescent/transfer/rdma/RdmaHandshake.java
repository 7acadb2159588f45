package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What two ends exchange over the TCP control channel to connect RC queue pairs: each side's queue pair number,
 * starting packet sequence number, LID (InfiniBand), GID (RoCE) and MTU. The serving side adds where its segment
 * is: the segment's base address and, for each registered memory region, its range and remote key.
 *
 * <pre>
 * magic u32 "CRDM" | version u16 | device name length u16 | qp number u32 | psn u32 | lid u16 | mtu u8
 * | link layer u8 | gid 16 bytes | base address u64 | region count u32 | device name
 * | regions: offset u64, length u64, rkey u32 (each)
 * </pre>
 *
 * @param device     the RDMA device (rail) this queue pair is on
 * @param mtu        the verbs MTU enum (1 = 256 ... 5 = 4096)
 * @param linkLayer  1 InfiniBand (addressed by LID), 2 Ethernet (RoCE, addressed by GID)
 * @param regions    the serving side's registered regions of the segment; empty from the connecting side
 */
public record RdmaHandshake(
        String device,
        int qpNumber,
        int psn,
        int lid,
        int mtu,
        int linkLayer,
        byte[] gid,
        long baseAddress,
        List<RemoteRegion> regions) {
    public static final int MAGIC = 0x4352444d;
    public static final short VERSION = 1;
    public static final int MAX_REGIONS = 65_536;
    private static final int FIXED_BYTES = 4 + 2 + 2 + 4 + 4 + 2 + 1 + 1 + 16 + 8 + 4;
    private static final int REGION_BYTES = 8 + 8 + 4;

    /** A registered range of the serving side's segment (offsets from the segment's start) and its remote key. */
    public record RemoteRegion(long offset, long length, int rkey) {}

    public RdmaHandshake {
        if (gid == null || gid.length != 16) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "a GID is 16 bytes");
        }
        if (mtu < 1 || mtu > 5) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "MTU enum " + mtu + " is not 1..5");
        }
        if (linkLayer != 1 && linkLayer != 2) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "link layer " + linkLayer + " is not 1 or 2");
        }
        gid = gid.clone();
        regions = List.copyOf(regions);
    }

    /** Whether the peer must be addressed by GID (RoCE) rather than by LID. */
    public boolean addressedByGid() {
        return linkLayer == 2;
    }

    public byte[] encode() {
        byte[] name = device.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(FIXED_BYTES + name.length + regions.size() * REGION_BYTES);
        out.putInt(MAGIC)
                .putShort(VERSION)
                .putShort((short) name.length)
                .putInt(qpNumber)
                .putInt(psn)
                .putShort((short) lid)
                .put((byte) mtu)
                .put((byte) linkLayer)
                .put(gid)
                .putLong(baseAddress)
                .putInt(regions.size())
                .put(name);
        for (RemoteRegion region : regions) {
            out.putLong(region.offset()).putLong(region.length()).putInt(region.rkey());
        }
        return out.array();
    }

    public static RdmaHandshake decode(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes);
            if (in.getInt() != MAGIC) {
                throw malformed("bad magic");
            }
            short version = in.getShort();
            if (version != VERSION) {
                throw malformed("version " + version + ", this side speaks " + VERSION);
            }
            int nameLength = in.getShort() & 0xffff;
            int qp = in.getInt();
            int psn = in.getInt();
            int lid = in.getShort() & 0xffff;
            int mtu = in.get();
            int linkLayer = in.get();
            byte[] gid = new byte[16];
            in.get(gid);
            long base = in.getLong();
            int count = in.getInt();
            if (count < 0 || count > MAX_REGIONS) {
                throw malformed(count + " regions");
            }
            byte[] name = new byte[nameLength];
            in.get(name);
            if (in.remaining() != (long) count * REGION_BYTES) {
                throw malformed(in.remaining() + " bytes left for " + count + " regions");
            }
            List<RemoteRegion> regions = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                RemoteRegion region = new RemoteRegion(in.getLong(), in.getLong(), in.getInt());
                if (region.offset() < 0 || region.length() <= 0) {
                    throw malformed("region " + i + " has a negative offset or no length");
                }
                regions.add(region);
            }
            return new RdmaHandshake(
                    new String(name, StandardCharsets.UTF_8), qp, psn, lid, mtu, linkLayer, gid, base, regions);
        } catch (BufferUnderflowException e) {
            throw malformed("truncated");
        }
    }

    private static StoreException malformed(String why) {
        return new StoreException(ErrorCode.INVALID_PARAMS, "malformed RDMA handshake: " + why);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RdmaHandshake h
                && device.equals(h.device)
                && qpNumber == h.qpNumber
                && psn == h.psn
                && lid == h.lid
                && mtu == h.mtu
                && linkLayer == h.linkLayer
                && Arrays.equals(gid, h.gid)
                && baseAddress == h.baseAddress
                && regions.equals(h.regions);
    }

    @Override
    public int hashCode() {
        return 31 * device.hashCode() + qpNumber;
    }

    @Override
    public String toString() {
        return "RdmaHandshake[" + device + " qp=" + qpNumber + " lid=" + lid + " regions=" + regions.size() + "]";
    }
}
