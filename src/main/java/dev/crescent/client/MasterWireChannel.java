package dev.crescent.client;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import com.google.protobuf.StringValue;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.IdleConnections;
import dev.crescent.common.SocketDeadlines;
import dev.crescent.common.StoreException;
import dev.crescent.common.TlsSockets;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.TrailingValue;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.shm.Futex;
import io.grpc.MethodDescriptor;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.IntFunction;
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
    /** The largest buffer a connection keeps for its next request's head, and for answers ({@link #callWithin}). */
    private static final int KEPT_FRAME_BYTES = 1 << 20;

    private static final Pattern PORT = Pattern.compile("\"port\"\\s*:\\s*(\\d+)");
    private static final Pattern BATCH_PORT = Pattern.compile("\"batch-port\"\\s*:\\s*(\\d+)");
    private static final Pattern DIRECT_PORT = Pattern.compile("\"direct-port\"\\s*:\\s*(\\d+)");
    private static final Pattern STREAMED_PUT_BYTES = Pattern.compile("\"streamed-put-bytes\"\\s*:\\s*(\\d+)");
    private static final Pattern TLS = Pattern.compile("\"tls\"\\s*:\\s*true");

    private final String address;
    private final String host;
    private final int port;
    private final String nodeName;
    /** TLS for the announcement request and every wire connection; null: plaintext. */
    private final SSLContext tls;

    /** Idle connections to the listener for single calls, and to the one for batched calls. */
    private final IdleConnections<Connection> idle = new IdleConnections<>(MAX_IDLE, MasterWireChannel::closeQuietly);

    private final IdleConnections<Connection> idleBatch =
            new IdleConnections<>(MAX_IDLE, MasterWireChannel::closeQuietly);
    /**
     * The calls that go to the master's listener for batched calls: its connections are spread over several event
     * loops, where a batched read's work per call (many keys looked up, leased and copied) pays for the wake-ups that
     * single calls are cheaper without. Batched puts stay with single calls: in the store benchmark they ran at
     * 0.80-1.02x Redis's pipelined SETs spread over loops, against 1.66x on one.
     */
    private static final MethodSet BATCH_METHODS =
            new MethodSet(MasterServiceGrpc.getBatchGetReplicaListMethod(), MasterServiceGrpc.getBatchExistMethod());
    /** The calls a request ring carries: the put path's, whose answers are small. */
    private static final MethodSet RING_METHODS = new MethodSet(
            MasterServiceGrpc.getPutStartMethod(),
            MasterServiceGrpc.getUpsertStartMethod(),
            MasterServiceGrpc.getPutEndMethod(),
            MasterServiceGrpc.getPutRevokeMethod());
    /** How long a channel the master offered no ring calls over sockets before it asks again. */
    private static final long NO_RING_OFFERED = TimeUnit.MINUTES.toNanos(1);
    /** How long a channel whose ring failed to open or broke waits before it opens another. */
    private static final long NO_RING_AFTER_FAILURE = TimeUnit.SECONDS.toNanos(1);

    /** Whether this channel asks for a request ring at all. */
    private final boolean rings;
    /** The request ring, while one is open (null: none yet, or it was closed). */
    private volatile CallRing ring;
    /** Until when no ring is asked for ({@link System#nanoTime}). */
    private volatile long noRingUntil = System.nanoTime();
    /** One thread at a time opens a ring; the others call over sockets meanwhile. */
    private final AtomicBoolean opening = new AtomicBoolean();

    /** The wire ports the master announced, or null until asked (again after a connection to one failed). */
    private volatile Ports ports;

    /**
     * Where single and batched calls go (one port for both at a master that predates the batch listener), and the
     * direct listener's port, which single calls prefer while it has room (0: none announced), and the largest put
     * whose bytes it takes with the put start ({@code streamedPutBytes}, 0: none).
     */
    private record Ports(int single, int batch, int direct, long streamedPutBytes) {}

    /** Until when new connections skip the direct listener, which last said it was full ({@link System#nanoTime}). */
    private volatile long noDirectUntil = System.nanoTime();
    /** How long a channel that found the direct listener full connects to the event loops' port instead. */
    private static final long SKIP_FULL_DIRECT = TimeUnit.SECONDS.toNanos(1);

    /** A connection as it opened: its socket, its deadline's watch, and how its bytes move. */
    private record Opened(Socket socket, SocketDeadlines.Watch watch, Pipe pipe) {}

    /** The master at this address announces no wire port: it does not speak the protocol. */
    static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    MasterWireChannel(String address, String nodeName, SSLContext tls) {
        this(address, nodeName, tls, false);
    }

    /** @param rings ask the master for a request ring for the put path's calls (it offers one to callers on its host) */
    MasterWireChannel(String address, String nodeName, SSLContext tls, boolean rings) {
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
        this.rings = rings;
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
        return call(method, request, trailing, deadline, false, 0, (answer, value) -> answer);
    }

    /**
     * {@link #call} whose answer is read into a buffer its connection keeps (up to {@link #KEPT_FRAME_BYTES}) and
     * handed to {@code take}: the answer's bytes fields alias that buffer, so they are valid only inside {@code take},
     * which must copy out what it keeps. The connection goes back to its pool once {@code take} returns. For answers
     * of a known, bounded size, such as a get into the caller's buffer: no fresh array (zeroed, then garbage) per
     * answer. When the answer ends with a value in bytes field {@code valueField} (0: none asked), that value is not
     * parsed but handed to {@code take} beside the rest of the answer, as a view of where it was read (a copy fewer,
     * {@link TrailingValue}), valid only inside {@code take} too. Otherwise, or when the answer came another way,
     * {@code take} gets null and the answer whole.
     */
    <Q extends MessageLite, A, R> R callWithin(
            MethodDescriptor<Q, A> method,
            Q request,
            Duration deadline,
            int valueField,
            BiFunction<? super A, MemorySegment, ? extends R> take) {
        return call(method, request, TrailingBytes.NONE, deadline, true, valueField, take);
    }

    private <Q extends MessageLite, A, R> R call(
            MethodDescriptor<Q, A> method,
            Q request,
            TrailingBytes trailing,
            Duration deadline,
            boolean intoKept,
            int valueField,
            BiFunction<? super A, MemorySegment, ? extends R> take) {
        int timeout = millis(deadline);
        Connection connection = null;
        Reply reply;
        try {
            reply = viaRing(MasterWire.id(method), request, trailing, timeout);
            if (reply == null) {
                boolean batch = BATCH_METHODS.contains(MasterWire.id(method));
                connection = (batch ? idleBatch : idle).poll();
                if (connection == null) {
                    connection = new Connection(timeout, batch);
                }
                reply = connection.exchange(MasterWire.id(method), request, trailing, timeout, intoKept, valueField);
            }
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
                throw new StoreException(ErrorCode.fromNumber(reply.code()), reply.message());
            }
            A answer;
            try {
                answer = MasterWire.parse(method.getResponseMarshaller(), reply.payload());
            } catch (StoreException e) {
                throw new StoreException(
                        ErrorCode.RPC_FAIL,
                        "master " + address + " answered " + method.getBareMethodName() + " unreadably: "
                                + e.getMessage());
            }
            return take.apply(answer, reply.value());
        } finally {
            if (connection != null) {
                // only now: a kept answer buffer is read until take returns
                (connection.batch ? idleBatch : idle).offer(connection);
            }
        }
    }

    /**
     * The call's answer through this channel's request ring, or null when it goes over a socket: a method the ring
     * does not carry, a request larger than a slot, no ring (none offered, or TLS, whose connections this client
     * cannot watch without reading them), or no free slot.
     */
    private Reply viaRing(int method, MessageLite request, TrailingBytes trailing, int timeout) throws IOException {
        if (!RING_METHODS.contains(method)) {
            return null;
        }
        CallRing open = ring(timeout);
        return open == null
                ? null
                : open.call(method, request, trailing, timeout, (code, payload) -> {
                    byte[] copied = new byte[payload.remaining()];
                    payload.get(copied);
                    return new Reply(code, ByteBuffer.wrap(copied), null);
                });
    }

    /** This channel's request ring: opened when first wanted, again after it broke, at most once a back-off. */
    private CallRing ring(int timeout) {
        CallRing open = ring;
        if (open != null && !open.broken()) {
            return open;
        }
        if (!rings
                || tls != null
                || !Futex.available()
                || System.nanoTime() - noRingUntil < 0
                || !opening.compareAndSet(false, true)) {
            return null;
        }
        try {
            if (open != null) {
                open.close();
                ring = null;
            }
            ring = openedRing(timeout);
            return ring;
        } catch (StoreException e) {
            // None offered (another host, rings off or all open, a runtime without futexes, a master that predates
            // rings): ask again much later.
            noRingUntil = System.nanoTime() + NO_RING_OFFERED;
            return null;
        } catch (IOException | RuntimeException e) {
            noRingUntil = System.nanoTime() + NO_RING_AFTER_FAILURE;
            return null;
        } finally {
            opening.set(false);
        }
    }

    /** Asks the master for a ring on a connection of its own, which the ring then keeps. */
    private CallRing openedRing(int timeout) throws IOException {
        Connection connection = new Connection(timeout, false);
        try {
            Reply reply = connection.exchange(
                    MasterWire.RING_OPEN, StringValue.of(HostId.current()), TrailingBytes.NONE, timeout, false, 0);
            if (reply.code() != 0) {
                throw new StoreException(ErrorCode.fromNumber(reply.code()), reply.message());
            }
            String path = StringValue.parseFrom(reply.payload()).getValue();
            Connection kept = connection;
            return CallRing.mapped(path, ((ChannelPipe) connection.pipe).channel(), () -> closeQuietly(kept));
        } catch (IOException | RuntimeException e) {
            closeQuietly(connection);
            throw e;
        }
    }

    /** Asks the master's HTTP port where its wire listeners are; {@link Refused} when it announces none. */
    private Ports announcedPorts(int timeout) throws IOException {
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
            int single = Integer.parseInt(found.group(1));
            Matcher batch = BATCH_PORT.matcher(body);
            Matcher direct = DIRECT_PORT.matcher(body);
            Matcher streamed = STREAMED_PUT_BYTES.matcher(body);
            return new Ports(
                    single,
                    batch.find() ? Integer.parseInt(batch.group(1)) : single,
                    direct.find() ? Integer.parseInt(direct.group(1)) : 0,
                    streamed.find() ? Long.parseLong(streamed.group(1)) : 0);
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

    /**
     * The largest put whose bytes the master's direct listener takes with the put start (0: none). Asks the master
     * when this channel has not yet, as its first connection would (and which then uses the answer); a master that
     * cannot be asked now counts as none: the put's own call meets that failure and reports it.
     */
    long streamedPutBytes(Duration deadline) {
        Ports announced;
        try {
            announced = ports(millis(deadline));
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return announced.direct() == 0 ? 0 : announced.streamedPutBytes();
    }

    /** The ports the master announced, asked for when not known yet (or no longer: a connection to one failed). */
    private Ports ports(int timeout) throws IOException {
        Ports announced = ports;
        if (announced == null) {
            announced = announcedPorts(timeout);
            ports = announced;
        }
        return announced;
    }

    /** A call's deadline as a socket timeout: whole milliseconds, at least one (0 would mean none). */
    private static int millis(Duration deadline) {
        return (int) Math.clamp(deadline.toMillis(), 1, Integer.MAX_VALUE);
    }

    @Override
    public void close() {
        idle.close();
        idleBatch.close();
        CallRing open = ring;
        if (open != null) {
            open.close();
        }
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

    /**
     * An answer's code and its payload (the buffer's remaining bytes); {@code value}, when not null, is the payload's
     * last field, kept out of it ({@link TrailingValue}).
     */
    private record Reply(int code, ByteBuffer payload, MemorySegment value) {
        String message() {
            return StandardCharsets.UTF_8.decode(payload.duplicate()).toString();
        }
    }

    /**
     * How a connection's bytes move. Plaintext connections are a blocking {@link SocketChannel}: a request is
     * gathered from its frame's head and the caller's own memory (the JDK's socket streams copy every heap array
     * through a direct buffer first, so a 64 KiB value was copied twice before the kernel's copy), and answers are
     * read into direct memory. TLS connections are the SSL socket's streams.
     */
    private sealed interface Pipe {
        void write(ByteBuffer[] parts) throws IOException;

        /** Reads at least one byte into {@code into} (blocking); -1 at the end of the stream. */
        int read(ByteBuffer into) throws IOException;

        ByteBuffer allocate(int bytes);
    }

    private record ChannelPipe(SocketChannel channel) implements Pipe {
        @Override
        public void write(ByteBuffer[] parts) throws IOException {
            long left = 0;
            for (ByteBuffer part : parts) {
                left += part.remaining();
            }
            // One write usually sends it all; a virtual thread's socket is non-blocking underneath and may send part.
            while (left > 0) {
                left -= channel.write(parts);
            }
        }

        @Override
        public int read(ByteBuffer into) throws IOException {
            return channel.read(into);
        }

        @Override
        public ByteBuffer allocate(int bytes) {
            return ByteBuffer.allocateDirect(bytes);
        }
    }

    private static final class StreamPipe implements Pipe {
        private final InputStream in;
        private final OutputStream out;
        /** The parts of a request, joined: one write, so TLS seals them into as few records as it can. */
        private ByteBuffer joined = ByteBuffer.allocate(0);

        StreamPipe(Socket socket) throws IOException {
            this.in = new BufferedInputStream(socket.getInputStream(), READ_BUFFER);
            this.out = socket.getOutputStream();
        }

        @Override
        public void write(ByteBuffer[] parts) throws IOException {
            int total = 0;
            for (ByteBuffer part : parts) {
                total += part.remaining();
            }
            ByteBuffer frame = room(joined, total, 0, this::allocate);
            joined = kept(joined, frame);
            frame.clear();
            for (ByteBuffer part : parts) {
                frame.put(part);
            }
            out.write(frame.array(), frame.arrayOffset(), total);
        }

        @Override
        public int read(ByteBuffer into) throws IOException {
            int read = in.read(into.array(), into.arrayOffset() + into.position(), into.remaining());
            if (read > 0) {
                into.position(into.position() + read);
            }
            return read;
        }

        @Override
        public ByteBuffer allocate(int bytes) {
            return ByteBuffer.allocate(bytes);
        }
    }

    /**
     * One wire connection, used by one thread at a time. Its socket blocks without a timeout (one read per answer);
     * its {@link SocketDeadlines.Watch} closes it when a call overruns.
     */
    private final class Connection {
        /** What an answer buffer starts with: a 64 KiB value's answer in one read. */
        private static final int ANSWER_BUFFER = 128 << 10;

        private final Socket socket;
        private final SocketDeadlines.Watch watch;
        /** Whether this connection goes to the listener for batched calls (and back to their idle pool). */
        private final boolean batch;

        private final Pipe pipe;
        private int nextCallId;
        /** A request's header, message and entry prefixes: kept up to {@link #KEPT_FRAME_BYTES}. */
        private ByteBuffer head;
        /** Answers are read here (as much of one as a read brings); kept up to {@link #KEPT_FRAME_BYTES}. */
        private ByteBuffer answers;
        /**
         * The payload of an answer that {@link #callWithin} takes, copied out of {@link #answers} to be parsed:
         * protobuf aliases only heap bytes (it copies a direct buffer whole into a fresh array before parsing it,
         * which for a batch of small objects' bytes was a humongous array per answer). Kept up to
         * {@link #KEPT_FRAME_BYTES}.
         */
        private ByteBuffer keptPayload = ByteBuffer.allocate(0);

        /** @param batch to the listener for batched calls */
        Connection(int timeout, boolean batch) throws IOException {
            this.batch = batch;
            Ports announced = ports(timeout);
            boolean direct = !batch && tls == null && announced.direct() != 0 && System.nanoTime() - noDirectUntil >= 0;
            Opened opened = direct ? opened(timeout, announced.direct(), true) : null;
            if (opened == null) {
                opened = opened(timeout, batch ? announced.batch() : announced.single(), false);
            }
            socket = opened.socket();
            watch = opened.watch();
            pipe = opened.pipe();
            head = pipe.allocate(4 << 10);
            answers = pipe.allocate(ANSWER_BUFFER);
        }

        /**
         * A connection to {@code port}, its hello sent; null when it goes to the direct listener and that has no
         * room (the caller then connects to the event loops' port).
         */
        private Opened opened(int timeout, int port, boolean direct) throws IOException {
            SocketChannel channel = tls == null ? SocketChannel.open() : null;
            Socket plain = channel == null ? new Socket() : channel.socket();
            SocketDeadlines.Watch watched = SocketDeadlines.watch(plain);
            watched.arm(timeout);
            try {
                plain.setTcpNoDelay(true);
                plain.connect(new InetSocketAddress(host, port)); // blocking: the watch bounds it
                if (direct && !served(channel)) {
                    noDirectUntil = System.nanoTime() + SKIP_FULL_DIRECT;
                    watched.close();
                    plain.close();
                    return null;
                }
                Socket opened = tls == null ? plain : TlsSockets.connected(tls, plain, host, port);
                Pipe pipe = channel == null ? new StreamPipe(opened) : new ChannelPipe(channel);
                byte[] name = nodeName.getBytes(StandardCharsets.UTF_8);
                pipe.write(new ByteBuffer[] {
                    ByteBuffer.allocate(4 + name.length)
                            .putInt(name.length)
                            .put(name)
                            .flip()
                });
                if (!watched.disarm()) {
                    throw new SocketTimeoutException("connecting took longer than " + timeout + " ms");
                }
                return new Opened(opened, watched, pipe);
            } catch (IOException | RuntimeException e) {
                boolean overran = !(e instanceof SocketTimeoutException) && !watched.disarm();
                watched.close();
                plain.close();
                ports = null; // the master may have restarted on other ports: ask again next time
                if (overran) {
                    throw new SocketTimeoutException("connecting took longer than " + timeout + " ms");
                }
                throw e;
            }
        }

        /** Whether the direct listener serves this connection: the byte it sends first says so. */
        private static boolean served(SocketChannel channel) throws IOException {
            ByteBuffer first = ByteBuffer.allocate(1);
            if (channel.read(first) < 0) {
                throw new EOFException("the master closed the connection");
            }
            return first.get(0) == MasterWire.DIRECT_SERVED;
        }

        Reply exchange(
                int method, MessageLite request, TrailingBytes trailing, int timeout, boolean intoKept, int valueField)
                throws IOException {
            watch.arm(timeout);
            Reply reply;
            try {
                reply = exchange(method, request, trailing, intoKept, valueField);
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

        private Reply exchange(
                int method, MessageLite request, TrailingBytes trailing, boolean intoKept, int valueField)
                throws IOException {
            int callId = nextCallId++;
            int message = request.getSerializedSize();
            int length = MasterWire.REQUEST_HEADER + message + trailing.encodedSize();
            ByteBuffer frame =
                    room(head, 4 + MasterWire.REQUEST_HEADER + message + trailing.prefixesSize(), 0, pipe::allocate);
            head = kept(head, frame);
            frame.clear().putInt(length).put((byte) method).putInt(callId);
            CodedOutputStream body = CodedOutputStream.newInstance(frame);
            request.writeTo(body);
            body.flush();
            pipe.write(trailing.gathered(frame));
            return answer(callId, intoKept, valueField);
        }

        /**
         * Reads the answer to {@code callId}: into the kept buffer when {@code intoKept} and it fits there (its
         * payload is then a view of that buffer, and a last field {@code valueField} is left where it was read),
         * else into an array of its own.
         */
        private Reply answer(int callId, boolean intoKept, int valueField) throws IOException {
            ByteBuffer in = answers.clear();
            readAtLeast(in, 4 + MasterWire.RESPONSE_HEADER);
            int length = in.getInt(0);
            if (length < MasterWire.RESPONSE_HEADER || length > MasterWire.MAX_FRAME) {
                throw new IOException("malformed answer frame (length " + length + ")");
            }
            int answered = in.getInt(4);
            if (answered != callId) {
                throw new IOException("answer to call " + answered + " while waiting for " + callId);
            }
            int code = in.getInt(8);
            int frameBytes = 4 + length;
            int header = 4 + MasterWire.RESPONSE_HEADER;
            if (intoKept && frameBytes <= KEPT_FRAME_BYTES) {
                in = room(in, frameBytes, in.position(), pipe::allocate);
                answers = kept(answers, in); // always: the answer is at most KEPT_FRAME_BYTES
                readAtLeast(in, frameBytes);
                requireOneAnswer(in, frameBytes);
                TrailingValue value =
                        valueField == 0 || code != 0 ? null : TrailingValue.find(in, header, frameBytes, valueField);
                int parsed = value == null ? frameBytes - header : value.headBytes();
                ByteBuffer payload = room(keptPayload, parsed, 0, ByteBuffer::allocate);
                keptPayload = kept(keptPayload, payload); // always, as above
                payload.clear().put(in.slice(header, parsed));
                return new Reply(
                        code,
                        payload.flip(),
                        value == null ? null : MemorySegment.ofBuffer(in.slice(value.valueAt(), value.valueBytes())));
            }
            int have = Math.min(in.position(), frameBytes) - header;
            requireOneAnswer(in, frameBytes);
            byte[] payload = new byte[frameBytes - header];
            in.get(header, payload, 0, have);
            ByteBuffer rest = ByteBuffer.wrap(payload, have, payload.length - have);
            while (rest.hasRemaining()) {
                if (pipe.read(rest) < 0) {
                    throw new EOFException("the master closed the connection mid-answer");
                }
            }
            return new Reply(code, ByteBuffer.wrap(payload), null);
        }

        /** Reads until {@code in} holds {@code bytes} from its start. */
        private void readAtLeast(ByteBuffer in, int bytes) throws IOException {
            while (in.position() < bytes) {
                if (pipe.read(in) < 0) {
                    throw new EOFException("the master closed the connection");
                }
            }
        }

        /** One call at a time: nothing may follow its answer. */
        private static void requireOneAnswer(ByteBuffer in, int frameBytes) throws IOException {
            if (in.position() > frameBytes) {
                throw new IOException("bytes after the answer (" + (in.position() - frameBytes) + ")");
            }
        }
    }

    /**
     * {@code buffer} when it holds {@code bytes}, else a larger one from {@code allocate} (room to grow, up to
     * {@link #KEPT_FRAME_BYTES}) holding {@code buffer}'s first {@code keep} bytes.
     */
    private static ByteBuffer room(ByteBuffer buffer, int bytes, int keep, IntFunction<ByteBuffer> allocate) {
        if (buffer.capacity() >= bytes) {
            return buffer.limit(buffer.capacity());
        }
        int grown = Math.max(bytes, Math.min(KEPT_FRAME_BYTES, 2 * buffer.capacity()));
        return allocate.apply(grown).put(buffer.slice(0, keep));
    }

    /**
     * What a connection keeps after using {@code used} in place of {@code kept}: {@code used}, unless it is larger
     * than {@link #KEPT_FRAME_BYTES} (a fresh buffer is zeroed before it is filled, so one is kept for the next use).
     */
    private static ByteBuffer kept(ByteBuffer kept, ByteBuffer used) {
        return used.capacity() <= KEPT_FRAME_BYTES ? used : kept;
    }
}
