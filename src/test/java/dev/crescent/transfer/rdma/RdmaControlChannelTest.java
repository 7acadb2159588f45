package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.tcp.TcpTransferServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The RDMA handshake over a real TCP transfer server on 127.0.0.1. */
class RdmaControlChannelTest {
    private static final RdmaHandshake HELLO =
            new RdmaHandshake("mlx5_0", 77, 12345, 4, 5, 1, new byte[16], 0, List.of());
    private TcpTransferServer server;
    private String target;

    @BeforeEach
    void start() throws IOException {
        server = new TcpTransferServer(
                new RegisteredMemory(),
                new InetSocketAddress("127.0.0.1", 0),
                Duration.ofSeconds(5),
                Duration.ofSeconds(5));
        target = "127.0.0.1:" + server.port();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void theServingSideAnswersWithItsQueuePairAndRemoteKeys() {
        List<String> asked = new ArrayList<>();
        server.serveRdma((segment, hello) -> {
            asked.add(segment + " from qp " + RdmaHandshake.decode(hello).qpNumber());
            return new RdmaHandshake(
                            "mlx5_4",
                            99,
                            54321,
                            8,
                            4,
                            1,
                            new byte[16],
                            0x7000_0000L,
                            List.of(new RdmaHandshake.RemoteRegion(0, 1 << 20, 0xbeef)))
                    .encode();
        });
        RdmaHandshake answer = RdmaControlChannel.exchange(target, "worker-a", HELLO, "test", Duration.ofSeconds(5));
        assertEquals(List.of("worker-a from qp 77"), asked);
        assertEquals(99, answer.qpNumber());
        assertEquals(0xbeef, answer.regions().getFirst().rkey());
        assertEquals(0x7000_0000L, answer.baseAddress());
    }

    @Test
    void aWorkerWithoutRdmaRefusesAndTheConnectionStaysUsable() {
        StoreException e = assertThrows(
                StoreException.class,
                () -> RdmaControlChannel.exchange(target, "worker-a", HELLO, "test", Duration.ofSeconds(5)));
        assertEquals(ErrorCode.TRANSFER_FAIL, e.code());
        assertEquals(true, e.getMessage().contains("does not serve RDMA"), e.getMessage());
    }

    @Test
    void refusalsKeepTheirCode() {
        server.serveRdma((segment, hello) -> {
            throw new StoreException(ErrorCode.PERMISSION_DENIED, "RDMA is not served with access control on");
        });
        StoreException e = assertThrows(
                StoreException.class,
                () -> RdmaControlChannel.exchange(target, "worker-a", HELLO, "test", Duration.ofSeconds(5)));
        assertEquals(ErrorCode.PERMISSION_DENIED, e.code());
        server.serveRdma((segment, hello) -> {
            RdmaHandshake.decode(new byte[] {1, 2, 3});
            return new byte[0];
        });
        assertEquals(
                ErrorCode.INVALID_PARAMS,
                assertThrows(
                                StoreException.class,
                                () -> RdmaControlChannel.exchange(target, "w", HELLO, "test", Duration.ofSeconds(5)))
                        .code());
    }
}
