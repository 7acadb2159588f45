package dev.crescent.master.ha;

import dev.crescent.master.ha.OpLogStream.Batch;
import dev.crescent.master.ha.OpLogStream.Opening;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;

/**
 * A standby's copy of the op-log batches the leader has not yet written to etcd. The leader acknowledges a change
 * once every standby it streams to holds it (memory speed) rather than once etcd has it, so a standby keeps them
 * until its own replay of etcd has passed them; the master elected after a leader dies collects them from every
 * standby ({@link OpLogRecovery}) and writes them to etcd before it serves, so nothing acknowledged is lost.
 *
 * <p>Only the current leader may stream or collect: a connection shows the token the leader wrote to etcd when it
 * took over, checked against etcd. A collection fences the standby: from then on it takes batches only from the
 * master that collected (a deposed leader's late batches are refused, and it cannot have them acknowledged).
 */
final class OpLogReplica implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OpLogReplica.class);
    /** A peer must finish its opening within this. */
    private static final int OPENING_TIMEOUT_MILLIS = 5_000;
    /** Connections whose opening is not checked yet, at most (the leader and a successor collecting need two). */
    private static final int MAX_OPENINGS = 16;

    private final ServerSocket server;
    private final MetadataStore store;
    private final String tokenKey;
    private final LongSupplier applied;
    private final Thread acceptor;
    private final Semaphore openings = new Semaphore(MAX_OPENINGS);

    /** Batches past what this standby's replay of etcd has applied; guarded by this. */
    private final TreeMap<Long, byte[]> held = new TreeMap<>();
    /** The token batches are taken from, and the etcd revision it was current at; guarded by this. */
    private byte[] fencedToken;

    private long fencedRevision;
    /** The connection streaming batches now; guarded by this. */
    private Socket streaming;

    private volatile boolean closed;

    /**
     * @param port    the port to listen on (0: a free one), on every interface (standbys on other hosts' masters)
     * @param applied the last op-log batch this standby applied from etcd: batches up to it are no longer held
     */
    OpLogReplica(int port, MetadataStore store, String tokenKey, LongSupplier applied, ReplicationSockets sockets)
            throws IOException {
        this.server = sockets.listen(port);
        this.store = store;
        this.tokenKey = tokenKey;
        this.applied = applied;
        this.acceptor =
                Thread.ofPlatform().name("crescent-oplog-replica").daemon().start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    /** The batches held past {@code after}, in sequence order (for this master's own takeover). */
    synchronized List<Batch> heldAfter(long after) {
        List<Batch> batches = new ArrayList<>();
        held.tailMap(after, false).forEach((sequence, value) -> batches.add(new Batch(sequence, value)));
        return batches;
    }

    /** Batches held now: how far etcd is behind what the leader acknowledged. */
    synchronized int heldCount() {
        return held.size();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket socket = server.accept();
                if (!openings.tryAcquire()) {
                    socket.close(); // more peers than masters can be: nobody gets a thread for the asking
                    continue;
                }
                // A platform thread: a virtual one is woken through the JDK's poller and then a carrier, two more
                // thread wake-ups per batch on the leader's critical path. Bounded: openings are, and a new stream
                // ends the one before it.
                Thread.ofPlatform().name("crescent-oplog-peer").daemon().start(() -> serve(socket));
            } catch (IOException e) {
                if (!closed) {
                    LOG.warnf("op-log replication listener: %s", e.getMessage());
                }
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(OPENING_TIMEOUT_MILLIS); // over TLS this bounds the handshake too
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            Opening opening;
            long revision;
            try {
                opening = OpLogStream.readOpening(in);
                revision = opening == null ? -1 : currentRevisionOf(opening.token());
            } finally {
                openings.release();
            }
            if (revision < 0
                    || !fence(opening.token(), revision, opening.kind() == OpLogStream.STREAM ? socket : null)) {
                out.writeByte(OpLogStream.REFUSED);
                out.flush();
                return;
            }
            out.writeByte(OpLogStream.ACCEPTED);
            if (opening.kind() == OpLogStream.FETCH) {
                long after = in.readLong();
                OpLogStream.writeBatches(out, heldAfter(after));
                out.flush();
                return;
            }
            out.flush();
            socket.setSoTimeout(0); // a quiet leader is not a dead one: its lease says that
            while (!closed) {
                Batch batch = OpLogStream.readBatch(in);
                if (!hold(opening.token(), batch)) {
                    return; // another master collected since: this stream is over
                }
                out.writeLong(batch.sequence());
                out.flush();
            }
        } catch (IOException e) {
            LOG.debugf("op-log replication peer %s: %s", socket.getRemoteSocketAddress(), e.getMessage());
        }
    }

    /** @return the etcd revision at which {@code token} is the leader's; -1 when it is not (or etcd cannot say) */
    private long currentRevisionOf(byte[] token) {
        try {
            Optional<KeyValue> current = store.get(tokenKey);
            return current.isPresent() && Arrays.equals(current.get().value(), token)
                    ? current.get().modRevision()
                    : -1;
        } catch (RuntimeException e) {
            LOG.debugf("op-log replication: the leader's token cannot be read (%s)", e.getMessage());
            return -1;
        }
    }

    /**
     * Takes batches from {@code token} from now on, unless a later leader's token was shown already; a stream from
     * another token is ended.
     */
    private synchronized boolean fence(byte[] token, long revision, Socket stream) throws IOException {
        if (revision < fencedRevision) {
            return false;
        }
        // A new stream replaces the one before; a collection by a new leader ends the old leader's.
        boolean ends = stream != null || !Arrays.equals(token, fencedToken);
        if (ends && streaming != null && streaming != stream) {
            streaming.close();
            streaming = null;
        }
        fencedToken = token;
        fencedRevision = revision;
        if (stream != null) {
            streaming = stream;
        }
        return true;
    }

    private synchronized boolean hold(byte[] token, Batch batch) {
        if (!Arrays.equals(token, fencedToken)) {
            return false;
        }
        long replayed = applied.getAsLong();
        if (batch.sequence() > replayed) {
            held.put(batch.sequence(), batch.value());
        }
        held.headMap(replayed, true).clear();
        return true;
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        synchronized (this) {
            if (streaming != null) {
                try {
                    streaming.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
        acceptor.interrupt();
    }
}
