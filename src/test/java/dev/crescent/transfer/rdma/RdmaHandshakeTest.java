package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RdmaHandshakeTest {
    private static final byte[] GID =
            new byte[] {(byte) 0xfe, (byte) 0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0x5e, 0, 0, 0, 0, 7};

    private static RdmaHandshake serving() {
        return new RdmaHandshake(
                "mlx5_1",
                0x1234,
                0xabcdef,
                17,
                5,
                2,
                GID,
                0x7f00_1000_0000L,
                List.of(
                        new RdmaHandshake.RemoteRegion(0, 1L << 30, 0x1111),
                        new RdmaHandshake.RemoteRegion(1L << 30, 1L << 29, 0x2222)));
    }

    @Test
    void roundTripsEveryField() {
        RdmaHandshake sent = serving();
        RdmaHandshake got = RdmaHandshake.decode(sent.encode());
        assertEquals(sent, got);
        assertEquals("mlx5_1", got.device());
        assertEquals(0xabcdef, got.psn());
        assertEquals(0x2222, got.regions().get(1).rkey());
        assertTrue(got.addressedByGid(), "Ethernet link layer: RoCE, addressed by GID");
        RdmaHandshake connecting = new RdmaHandshake("mlx5_0", 9, 1, 3, 4, 1, new byte[16], 0, List.of());
        assertFalse(RdmaHandshake.decode(connecting.encode()).addressedByGid());
        assertEquals(List.of(), RdmaHandshake.decode(connecting.encode()).regions());
    }

    @Test
    void malformedHandshakesAreRejectedWithInvalidParams() {
        byte[] good = serving().encode();
        byte[] badMagic = good.clone();
        badMagic[0] = 'X';
        byte[] badVersion = good.clone();
        badVersion[5] = 9;
        byte[] hugeCount = good.clone();
        ByteBuffer.wrap(hugeCount).putInt(4 + 2 + 2 + 4 + 4 + 2 + 1 + 1 + 16 + 8, Integer.MAX_VALUE);
        byte[] extra = Arrays.copyOf(good, good.length + 3);
        for (byte[] bad : List.of(
                badMagic,
                badVersion,
                Arrays.copyOf(good, 20),
                Arrays.copyOf(good, good.length - 1),
                hugeCount,
                extra,
                new byte[0])) {
            StoreException e = assertThrows(StoreException.class, () -> RdmaHandshake.decode(bad));
            assertEquals(ErrorCode.INVALID_PARAMS, e.code());
            assertTrue(e.getMessage().startsWith("malformed RDMA handshake"), e.getMessage());
        }
    }

    @Test
    void fieldsOutOfRangeAreRefusedBeforeTheyReachTheDevice() {
        assertThrows(StoreException.class, () -> new RdmaHandshake("d", 1, 1, 1, 6, 1, GID, 0, List.of()));
        assertThrows(StoreException.class, () -> new RdmaHandshake("d", 1, 1, 1, 5, 3, GID, 0, List.of()));
        assertThrows(StoreException.class, () -> new RdmaHandshake("d", 1, 1, 1, 5, 1, new byte[4], 0, List.of()));
    }
}
