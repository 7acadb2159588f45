package dev.crescent.client;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.IdleConnections;
import dev.crescent.common.SocketDeadlines;
import dev.crescent.common.StoreException;
import dev.crescent.common.TlsSockets;
import dev.crescent.protocol.MasterWire;
import io.grpc.MethodDescriptor;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * Master calls to one master over the {@link MasterWire} protocol (its port asked once from the master's HTTP
 * port, again after a connection to it failed). Connections are pooled and each carries one call
 * at a time, so the calling thread writes its request and reads its own answer: no hand-off to an I/O thread and
 * back, which is most of what a gRPC call costs on a small machine. A call that times out or meets a broken
 * connection closes that connection (a late answer must not be read as the next call's).
 */
final class MasterWireChannel implements AutoCloseable {
    private static final int MAX_IDLE = 64;
    private static final int READ_BUFFER = 64 << 10;
    /** The largest frame a connection keeps for its next request (and answer, {@link #callWithin}). */
    private static final int KEPT_FRAME_BYTES = 1 << 20;

    private static final Pattern PORT = Pattern.compile("\"port\"\\s*:\\s*(\\d+)");
    private static final Pattern TLS = Pattern.compile("\"tls\"\\s*:\\s*true");

    private final String address;
    private final String host;
    private final int port;
    private final String nodeName;
    /** TLS for the announcement request and every wire connection; null: plaintext. */
    private final SSLContext tls;

    private final IdleConnections<Connection> idle = new IdleConnections<>(MAX_IDLE, MasterWireChannel::closeQuietly);
    /** The wire port the master announced, or -1 until asked (again after a connection to it failed). */
    private volatile int wirePort = -1;

    /** The master at this address announces no wire port: it does not speak the protocol. */
    static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    MasterWireChannel(String address, String nodeName, SSLContext tls) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "master address " + address + " is not host:port");
        }
        this.address = address;
        this.host = address.substring(0, colon);
        this.port = Integer.parseInt(address.substring(colon + 1));
        if (nodeName != null && nodeName.getBytes(StandardCharsets.UTF_8).length > MasterWire.MAX_NODE_NAME_BYTES) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS, "a node name is at most " + MasterWire.MAX_NODE_NAME_BYTES + " bytes");
        }
        this.nodeName = nodeName == null ? "" : nodeName;
        this.tls = tls;
    }

    String address() {
        return address;
    }

    /**
     * One call: the answer, or a StoreException with the master's code (RPC_FAIL when the connection failed,
     * RPC_TIMEOUT when no answer came within {@code deadline}); {@link Refused} when the master does not speak it.
     */
    <Q extends MessageLite, A> A call(MethodDescriptor<Q, A> method, Q request, Duration deadline) {
        return call(method, request, TrailingBytes.NONE, deadline);
    }

    /** {@link #call} of {@code request} followed by {@code trailing}'s entries, as one message. */
    <Q extends MessageLite, A> A call(
            MethodDescriptor<Q, A> method, Q request, TrailingBytes trailing, Duration deadline) {
        return call(method, request, trailing, deadline, false, Function.identity());
    }

    /**
     * {@link #call} whose answer is read into an array its connection keeps (up to {@link #KEPT_FRAME_BYTES}) and
     * handed to {@code take}: the answer's bytes fields alias that array, so they are valid only inside {@code take},
     * which must copy out what it keeps. The connection goes back to its pool once {@code take} returns. For answers
     * of a known, bounded size, such as a get into the caller's buffer: no fresh array (zeroed, then garbage) per
     * answer.
     */
    <Q extends MessageLite, A, R> R callWithin(
            MethodDescriptor<Q, A> method, Q request, Duration deadline, Function<? super A, ? extends R> take) {
        return call(method, request, TrailingBytes.NONE, deadline, true, take);
    }

    private <Q extends MessageLite, A, R> R call(
            MethodDescriptor<Q, A> method,
            Q request,
            TrailingBytes trailing,
            Duration deadline,
            boolean intoKept,
            Function<? super A, ? extends R> take) {
        int timeout = (int) Math.clamp(deadline.toMillis(), 1, Integer.MAX_VALUE);
        Connection connection = idle.poll();
        Reply reply;
        try {
            if (connection == null) {
                connection = new Connection(timeout);
            }
            reply = connection.exchange(MasterWire.id(method), request, trailing, timeout, intoKept);
        } catch (SocketTimeoutException e) {
            closeQuietly(connection);
            throw new StoreException(
                    ErrorCode.RPC_TIMEOUT,
                    "master " + address + " did not answer " + method.getBareMethodName() + " within " + timeout
                            + " ms");
        } catch (IOException e) {
            closeQuietly(connection);
            throw new StoreException(ErrorCode.RPC_FAIL, "master " + address + ": " + e.getMessage(), e);
        } catch (RuntimeException e) { // e.g. a request that cannot be encoded: the stream's state is unknown
            closeQuietly(connection);
            throw e;
        }
        try {
            if (reply.code() != 0) {
                throw new StoreException(
                        ErrorCode.fromNumber(reply.code()),
                        new String(reply.payload(), 0, reply.length(), StandardCharsets.UTF_8));
            }
            A answer;
            try {
                answer = MasterWire.parse(method.getResponseMarshaller(), reply.payload(), 0, reply.length());
            } catch (StoreException e) {
                throw new StoreException(
                        ErrorCode.RPC_FAIL,
                        "master " + address + " answered " + method.getBareMethodName() + " unreadably: "
                                + e.getMessage());
            }
            return take.apply(answer);
        } finally {
            idle.offer(connection); // only now: a kept answer array is read until take returns
        }
    }

    /** Asks the master's HTTP port where its wire listener is; {@link Refused} when it announces none. */
    private int announcedPort(int timeout) throws IOException {
        try (Socket http = connected(host, port, timeout)) {
            http.getOutputStream()
                    .write(("GET " + MasterWire.PATH + " HTTP/1.1\r\nHost: " + address
                                    + "\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
            String answer = new String(http.getInputStream().readNBytes(64 << 10), StandardCharsets.ISO_8859_1);
            if (!answer.startsWith("HTTP/1.1 200")) {
                throw new Refused("master " + address + " announces no wire port: "
                        + answer.lines().findFirst().orElse("no answer"));
            }
            String body = answer.substring(Math.max(0, answer.indexOf("\r\n\r\n")));
            Matcher found = PORT.matcher(body);
            if (!found.find()) {
                throw new IOException("master " + address + " answered " + MasterWire.PATH + " without a port");
            }
            if (tls == null && TLS.matcher(body).find()) {
                throw new StoreException(
                        ErrorCode.UNAUTHENTICATED,
                        "master " + address + " serves its wire protocol over TLS only: give the client a TLS context");
            }
            return Integer.parseInt(found.group(1));
        }
    }

    /** A socket connected to {@code host:port} with {@code timeout} for connect and reads; over TLS when set. */
    private Socket connected(String host, int port, int timeout) throws IOException {
        Socket plain = new Socket();
        try {
            plain.setTcpNoDelay(true);
            plain.connect(new InetSocketAddress(host, port), timeout);
            plain.setSoTimeout(timeout);
            return tls == null ? plain : TlsSockets.connected(tls, plain, host, port);
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    @Override
    public void close() {
        idle.close();
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            connection.watch.close();
            try {
                connection.socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /** An answer's code and its payload, the first {@code length} bytes of {@code payload}. */
    private record Reply(int code, byte[] payload, int length) {}

    /**
     * One wire connection, used by one thread at a time. Its socket blocks without a timeout (one read per answer);
     * its {@link SocketDeadlines.Watch} closes it when a call overruns.
     */
    private final class Connection {
        private final Socket socket;
        private final SocketDeadlines.Watch watch;
        private final OutputStream out;
        private final DataInputStream in;
        private int nextCallId;
        /**
         * Kept for the next request up to {@link #KEPT_FRAME_BYTES}: a fresh array is zeroed before it is filled.
         * Once a request is written, the same array may take its answer ({@link #callWithin}).
         */
        private byte[] frame = new byte[0];

        Connection(int timeout) throws IOException {
            int port = wirePort;
            if (port < 0) {
                port = announcedPort(timeout);
                wirePort = port;
            }
            Socket plain = new Socket();
            SocketDeadlines.Watch watched = SocketDeadlines.watch(plain);
            watched.arm(timeout);
            try {
                plain.setTcpNoDelay(true);
                plain.connect(new InetSocketAddress(host, port)); // blocking: the watch bounds it
                Socket opened = tls == null ? plain : TlsSockets.connected(tls, plain, host, port);
                out = opened.getOutputStream();
                in = new DataInputStream(new BufferedInputStream(opened.getInputStream(), READ_BUFFER));
                byte[] name = nodeName.getBytes(StandardCharsets.UTF_8);
                out.write(ByteBuffer.allocate(4 + name.length)
                        .putInt(name.length)
                        .put(name)
                        .array());
                if (!watched.disarm()) {
                    throw new SocketTimeoutException("connecting took longer than " + timeout + " ms");
                }
                socket = opened;
                watch = watched;
            } catch (IOException | RuntimeException e) {
                boolean overran = !(e instanceof SocketTimeoutException) && !watched.disarm();
                watched.close();
                plain.close();
                wirePort = -1; // the master may have restarted on another port: ask again next time
                if (overran) {
                    throw new SocketTimeoutException("connecting took longer than " + timeout + " ms");
                }
                throw e;
            }
        }

        Reply exchange(int method, MessageLite request, TrailingBytes trailing, int timeout, boolean intoKept)
                throws IOException {
            watch.arm(timeout);
            Reply reply;
            try {
                reply = exchange(method, request, trailing, intoKept);
            } catch (IOException e) {
                if (!watch.disarm()) {
                    throw new SocketTimeoutException("no answer within " + timeout + " ms");
                }
                throw e;
            }
            if (!watch.disarm()) { // answered, but the watchdog closed the socket meanwhile: no use for the next call
                throw new SocketTimeoutException("no answer within " + timeout + " ms");
            }
            return reply;
        }

        private Reply exchange(int method, MessageLite request, TrailingBytes trailing, boolean intoKept)
                throws IOException {
            int callId = nextCallId++;
            int size = request.getSerializedSize() + trailing.encodedSize();
            int frameBytes = 4 + MasterWire.REQUEST_HEADER + size;
            byte[] frame = frameOf(frameBytes);
            ByteBuffer.wrap(frame)
                    .putInt(MasterWire.REQUEST_HEADER + size)
                    .put((byte) method)
                    .putInt(callId);
            CodedOutputStream body = CodedOutputStream.newInstance(frame, 4 + MasterWire.REQUEST_HEADER, size);
            request.writeTo(body);
            trailing.writeTo(body);
            body.checkNoSpaceLeft();
            out.write(frame, 0, frameBytes);
            int length = in.readInt();
            if (length < MasterWire.RESPONSE_HEADER || length > MasterWire.MAX_FRAME) {
                throw new IOException("malformed answer frame (length " + length + ")");
            }
            int answered = in.readInt();
            if (answered != callId) {
                throw new IOException("answer to call " + answered + " while waiting for " + callId);
            }
            int code = in.readInt();
            int payloadBytes = length - MasterWire.RESPONSE_HEADER;
            byte[] payload = intoKept ? frameOf(payloadBytes) : new byte[payloadBytes];
            in.readFully(payload, 0, payloadBytes);
            return new Reply(code, payload, payloadBytes);
        }

        private byte[] frameOf(int bytes) {
            if (frame.length >= bytes) {
                return frame;
            }
            byte[] fresh = new byte[bytes];
            if (bytes <= KEPT_FRAME_BYTES) {
                frame = fresh;
            }
            return fresh;
        }
    }
}
