package dev.crescent.master.ha;

import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.master.ha.OpLogStream.Batch;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The leader's streams of op-log batches to its standbys' {@link OpLogReplica}s, found under {@code
 * oplog-replicas/} in etcd and connected to as they appear. A batch every streamed standby holds is durable: a
 * standby that does not answer in time is dropped from the set (and joins again once it answers a new connection,
 * starting with every batch etcd does not have yet), so a frozen standby delays acknowledgements once, by the
 * timeout, and not for good. The leader's batcher writes the batches and reads the acknowledgements itself.
 */
final class StandbyLinks implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StandbyLinks.class);
    private static final int CONNECT_TIMEOUT_MILLIS = 1_000;
    private static final long LOOK_EVERY_MILLIS = 500;
    private static final int SEND_BUFFER_BYTES = 4 << 20;

    private final MetadataStore store;
    private final String replicasPrefix;
    private final String ownAddress;
    private final byte[] token;
    private final ReplicationSockets sockets;
    private final ScheduledExecutorService ticker = Threads.daemonScheduler("crescent-oplog-links");
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private volatile Supplier<Collection<Batch>> unwritten;
    private volatile boolean closed;

    /**
     * @param ownAddress this master's address (its own replica is not a standby)
     * @param token      the token this leader wrote to etcd when it took over
     */
    StandbyLinks(
            MetadataStore store, String replicasPrefix, String ownAddress, byte[] token, ReplicationSockets sockets) {
        this.sockets = sockets;
        this.store = store;
        this.replicasPrefix = replicasPrefix;
        this.ownAddress = ownAddress;
        this.token = token;
    }

    /**
     * Starts looking for standbys.
     *
     * @param unwritten the batches etcd does not have yet, in order: a standby that joins gets them first
     */
    void start(Supplier<Collection<Batch>> unwritten) {
        this.unwritten = unwritten;
        ticker.scheduleWithFixedDelay(this::connectNew, 0, LOOK_EVERY_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Sends {@code batch} to every standby. The caller then reads their acknowledgements itself ({@link #awaitHeld}):
     * no thread hand-off on either side of the round trip, which on a busy host costs more than the round trip.
     * A standby that stops reading cannot block this for long: its socket buffer takes megabytes, and a standby
     * that does not acknowledge within the timeout is dropped.
     */
    synchronized void send(Batch batch) {
        for (Link link : links) {
            try {
                OpLogStream.writeBatch(link.out, batch);
                link.out.flush();
            } catch (IOException e) {
                drop(link, e.getMessage());
            }
        }
    }

    /**
     * Reads acknowledgements until every standby holds {@code sequence}; a standby that does not within
     * {@code timeoutMillis} is dropped from the set.
     *
     * @return whether at least one standby remains and every remaining one holds it
     */
    boolean awaitHeld(long sequence, long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        boolean any = false;
        for (Link link : links) {
            try {
                while (link.held < sequence) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        throw new IOException("no acknowledgement of op-log batch " + sequence + " in time");
                    }
                    link.socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
                    link.held = Math.max(link.held, link.in.readLong());
                }
                any = true;
            } catch (IOException e) {
                drop(link, e.getMessage());
            }
        }
        return any;
    }

    int count() {
        return links.size();
    }

    private void connectNew() {
        List<KeyValue> replicas;
        try {
            replicas = store.getPrefix(replicasPrefix);
        } catch (StoreException e) {
            return; // etcd unreachable: acknowledgements wait for it anyway
        }
        for (KeyValue replica : replicas) {
            String master = replica.key().substring(replicasPrefix.length());
            String address = new String(replica.value(), StandardCharsets.UTF_8);
            if (!master.equals(ownAddress) && links.stream().noneMatch(l -> l.address.equals(address))) {
                connect(address);
            }
        }
    }

    private void connect(String address) {
        Socket socket = null;
        try {
            socket = sockets.connect(address, CONNECT_TIMEOUT_MILLIS, SEND_BUFFER_BYTES);
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            OpLogStream.writeOpening(out, OpLogStream.STREAM, token);
            out.flush();
            if (in.readByte() != OpLogStream.ACCEPTED) {
                LOG.debugf("standby %s refused the op-log stream", address);
                socket.close();
                return;
            }
            Link link = new Link(address, socket, in, out);
            synchronized (this) {
                if (closed) {
                    socket.close();
                    return;
                }
                for (Batch batch : unwritten.get()) { // acknowledged with the next batch's
                    OpLogStream.writeBatch(out, batch);
                }
                out.flush();
                links.add(link);
            }
            LOG.infof("op-log streamed to standby %s", address);
        } catch (IOException | RuntimeException e) {
            LOG.debugf("standby %s not reachable for the op-log stream: %s", address, e.getMessage());
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    private void drop(Link link, String why) {
        if (links.remove(link)) {
            LOG.warnf(
                    "op-log stream to standby %s ended (%s): acknowledgements wait for etcd or other standbys",
                    link.address, why);
            link.close();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        ticker.shutdownNow();
        for (Link link : new ArrayList<>(links)) {
            links.remove(link);
            link.close();
        }
    }

    /** One standby's connection; written under the set's lock, its acknowledgements read by the batcher. */
    private static final class Link {
        final String address;
        final Socket socket;
        final DataInputStream in;
        final DataOutputStream out;
        /** The highest sequence the standby acknowledged (it takes batches in order). */
        volatile long held;

        Link(String address, Socket socket, DataInputStream in, DataOutputStream out) {
            this.address = address;
            this.socket = socket;
            this.in = in;
            this.out = out;
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
