package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.tcp.TcpProtocol;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The connecting side of the RDMA handshake, over the peer's TCP transfer server: one CONNECT request
 * ({@link TcpProtocol#OP_RDMA_CONNECT}) carrying this side's handshake, answered with the peer's. A handshake is
 * rare (once per peer, rail and endpoint-cache miss), so it uses a short-lived connection of its own.
 */
public final class RdmaControlChannel {
    private RdmaControlChannel() {}

    /** @param target the peer's TCP transfer server, host:port */
    public static RdmaHandshake exchange(
            String target, String segment, RdmaHandshake hello, String engineName, Duration timeout) {
        int colon = target.lastIndexOf(':');
        if (colon <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "tcp endpoint '" + target + "' is not host:port");
        }
        byte[] request = hello.encode();
        byte[] name = segment.getBytes(StandardCharsets.UTF_8);
        try (SocketChannel channel = SocketChannel.open()) {
            channel.socket()
                    .connect(
                            new InetSocketAddress(
                                    target.substring(0, colon), Integer.parseInt(target.substring(colon + 1))),
                            (int) timeout.toMillis());
            channel.socket().setSoTimeout((int) timeout.toMillis());
            TcpProtocol.clientHandshake(channel, engineName, target);
            ByteBuffer header = ByteBuffer.allocate(TcpProtocol.REQUEST_HEADER_BYTES + name.length);
            TcpProtocol.writeRequestHeader(header, TcpProtocol.OP_RDMA_CONNECT, 1, 0, request.length, name, null);
            TcpProtocol.writeFully(channel, header.flip(), ByteBuffer.wrap(request));
            ByteBuffer answer = ByteBuffer.allocate(TcpProtocol.RESPONSE_HEADER_BYTES);
            TcpProtocol.readFully(channel, answer);
            answer.flip();
            answer.getLong();
            int code = answer.getInt();
            int messageLength = answer.getInt();
            long payloadLength = answer.getLong();
            if (messageLength < 0
                    || messageLength > TcpProtocol.MAX_MESSAGE_BYTES
                    || payloadLength < 0
                    || payloadLength > TcpProtocol.MAX_CONTROL_BYTES) {
                throw new StoreException(ErrorCode.TRANSFER_FAIL, target + " sent a malformed CONNECT answer");
            }
            ByteBuffer message = ByteBuffer.allocate(messageLength);
            TcpProtocol.readFully(channel, message);
            if (code != 0) {
                throw TcpProtocol.remoteError(code, message.array());
            }
            ByteBuffer payload = ByteBuffer.allocate((int) payloadLength);
            TcpProtocol.readFully(channel, payload);
            return RdmaHandshake.decode(payload.array());
        } catch (IOException | NumberFormatException e) {
            throw new StoreException(ErrorCode.TRANSFER_FAIL, "RDMA handshake with " + target + " failed: " + e, e);
        }
    }
}
