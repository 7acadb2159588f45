package dev.crescent.api.events;

import dev.crescent.common.StoreException;
import dev.crescent.master.EventJournal;
import dev.crescent.master.ObjectEvent;
import org.jboss.logging.Logger;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Publishes the journal's events as vLLM's ZeroMQ publisher does (vLLM {@code ZmqEventPublisher}, commit 0181ea31):
 * each message is three frames, topic, sequence (8 bytes, big-endian) and one msgpack {@code KVEventBatch}; a
 * ROUTER socket answers a replay request (the first sequence wanted, 8 bytes) with every kept batch from it on,
 * each as (sequence, payload), then (-1, empty).
 *
 * <p>One message per journal batch, numbered by it: on a single master a batch is one change, in a replicated
 * cluster one op-log entry. So every master of a cluster numbers messages alike, and a subscriber that sees the
 * number jump after a failover (batches without events are not sent) asks the new leader for a replay, which it
 * answers from its journal. Only the serving leader publishes; every master answers replays.
 */
public final class ZmqEventPublisher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ZmqEventPublisher.class);
    private static final byte[] END =
            ByteBuffer.allocate(Long.BYTES).putLong(-1).array();
    private static final int READ_MAX = 4096;
    private static final long READ_WAIT_MILLIS = 50;
    private static final int HIGH_WATER_MARK = 100_000;

    private final EventJournal journal;
    private final BooleanSupplier leads;
    private final String endpoint;
    private final String replayEndpoint;
    private final byte[] topic;
    private final VllmEventCodec codec;
    private final Thread thread;
    private volatile boolean running = true;
    private ZContext context;
    private ZMQ.Socket pub;
    private ZMQ.Socket replay;

    /**
     * @param endpoint       PUB socket: bound when it has a wildcard or is ipc/inproc, else connected (as vLLM does)
     * @param replayEndpoint ROUTER socket for replays (bound), or null for none
     */
    public ZmqEventPublisher(
            EventJournal journal,
            BooleanSupplier leads,
            String endpoint,
            String replayEndpoint,
            String topic,
            VllmEventCodec codec) {
        this.journal = journal;
        this.leads = leads;
        this.endpoint = endpoint;
        this.replayEndpoint = replayEndpoint;
        this.topic = topic.getBytes(StandardCharsets.UTF_8);
        this.codec = codec;
        this.thread = Thread.ofPlatform().name("crescent-kv-events").daemon().unstarted(this::run);
    }

    /**
     * Opens the sockets here, so that an endpoint that cannot be bound stops start-up with its reason, then hands
     * them to the publisher thread (which alone uses them from then on).
     */
    public void start() {
        context = new ZContext();
        try {
            pub = context.createSocket(SocketType.PUB);
            pub.setSndHWM(HIGH_WATER_MARK);
            if (binds(endpoint)) {
                pub.bind(endpoint);
            } else {
                pub.connect(endpoint);
            }
            if (replayEndpoint != null) {
                replay = context.createSocket(SocketType.ROUTER);
                replay.bind(replayEndpoint);
            }
        } catch (RuntimeException e) {
            context.close();
            throw new IllegalStateException(
                    "KV events: cannot open " + endpoint + (replayEndpoint == null ? "" : " / " + replayEndpoint) + ": "
                            + e.getMessage(),
                    e);
        }
        // The bound endpoints, not the configured ones: a port given as * is chosen by the system and shown here.
        LOG.infof(
                "KV events published on %s%s",
                binds(endpoint) ? pub.getLastEndpoint() : endpoint,
                replay == null ? "" : ", replays on " + replay.getLastEndpoint());
        thread.start();
    }

    private void run() {
        try {
            EventJournal.Cursor cursor = null;
            while (running) {
                if (replay != null) {
                    serveReplays(replay);
                }
                if (!leads.getAsBoolean()) {
                    cursor = null; // a standby publishes nothing; once it leads, it starts from then
                    Thread.sleep(READ_WAIT_MILLIS);
                    continue;
                }
                if (cursor == null) {
                    cursor = journal.now();
                }
                try {
                    publish(pub, journal.read(cursor, READ_MAX, READ_WAIT_MILLIS));
                } catch (StoreException lost) {
                    // Fell behind the ring: subscribers see the numbers jump, and replays answer what is kept.
                    LOG.warnf("KV event publisher fell behind: %s", lost.getMessage());
                    cursor = journal.now();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.errorf(e, "KV event publisher stopped");
        } finally {
            context.close();
        }
    }

    static boolean binds(String endpoint) {
        return endpoint.contains("*")
                || endpoint.contains("::")
                || endpoint.startsWith("ipc://")
                || endpoint.startsWith("inproc://");
    }

    private void publish(ZMQ.Socket pub, List<ObjectEvent> events) {
        for (List<ObjectEvent> batch : byBatch(events)) {
            pub.sendMore(topic);
            pub.sendMore(sequence(batch.getFirst().batch()));
            pub.send(codec.encode(System.currentTimeMillis() / 1000.0, batch));
        }
    }

    /** Consecutive events of one journal batch together, in order. */
    private static List<List<ObjectEvent>> byBatch(List<ObjectEvent> events) {
        List<List<ObjectEvent>> batches = new ArrayList<>();
        for (ObjectEvent event : events) {
            if (batches.isEmpty() || batches.getLast().getFirst().batch() != event.batch()) {
                batches.add(new ArrayList<>());
            }
            batches.getLast().add(event);
        }
        return batches;
    }

    /** Answers the replay requests waiting: [identity, empty, first sequence] each. */
    private void serveReplays(ZMQ.Socket replay) throws InterruptedException {
        byte[] identity;
        while ((identity = replay.recv(ZMQ.DONTWAIT)) != null) {
            List<byte[]> frames = new ArrayList<>();
            while (replay.hasReceiveMore()) {
                frames.add(replay.recv());
            }
            if (frames.size() != 2 || frames.get(1).length != Long.BYTES) {
                LOG.debugf("replay request of %d frames ignored", frames.size() + 1);
                continue;
            }
            long first = ByteBuffer.wrap(frames.get(1)).getLong();
            EventJournal.Cursor cursor = journal.keptAfter(ObjectEvent.sequence(Math.max(first, 0), 0) - 1);
            List<ObjectEvent> kept;
            while (!(kept = readKept(cursor)).isEmpty()) {
                for (List<ObjectEvent> batch : byBatch(kept)) {
                    replay.sendMore(identity);
                    replay.sendMore(new byte[0]);
                    replay.sendMore(sequence(batch.getFirst().batch()));
                    replay.send(codec.encode(System.currentTimeMillis() / 1000.0, batch));
                }
            }
            replay.sendMore(identity);
            replay.sendMore(new byte[0]);
            replay.sendMore(END);
            replay.send(new byte[0]);
        }
    }

    private List<ObjectEvent> readKept(EventJournal.Cursor cursor) throws InterruptedException {
        try {
            return journal.read(cursor, READ_MAX, 0);
        } catch (StoreException lost) {
            return List.of(); // the ring moved on during the replay: what was sent is what was kept
        }
    }

    private static byte[] sequence(long value) {
        return ByteBuffer.allocate(Long.BYTES).putLong(value).array();
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
