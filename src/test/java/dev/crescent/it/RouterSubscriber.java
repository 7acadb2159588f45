package dev.crescent.it;

import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A cache-aware router's view of KV events, as vLLM's subscriber protocol has it (vLLM 0181ea31): SUB to every
 * master's publisher (topic, 8-byte sequence, msgpack KVEventBatch), and on a jump in the numbers a replay request
 * (the first missing sequence) to a ROUTER socket, answered batch by batch and ended by -1. Keys are the block
 * hashes' bytes.
 */
final class RouterSubscriber implements AutoCloseable {
    private final ZContext context = new ZContext();
    private final ConcurrentSkipListMap<Long, List<String>> live = new ConcurrentSkipListMap<>();
    private final Thread receiver;
    private volatile boolean running = true;
    private volatile boolean alike = true;
    private volatile int compared;

    RouterSubscriber(int... publisherPorts) {
        ZMQ.Socket sub = context.createSocket(SocketType.SUB);
        for (int port : publisherPorts) {
            sub.connect("tcp://127.0.0.1:" + port);
        }
        sub.subscribe(new byte[0]);
        sub.setReceiveTimeOut(100);
        receiver = Thread.ofPlatform().daemon().start(() -> {
            while (running) {
                byte[] topic = sub.recv();
                if (topic == null) {
                    continue;
                }
                long sequence = ByteBuffer.wrap(sub.recv()).getLong();
                live.put(sequence, keys(sub.recv()));
            }
            sub.close();
        });
    }

    /**
     * Every batch received live, plus what a replay from {@code replayPort} gives from the start (which covers every
     * jump in the numbers, and batches sent before this subscription reached a publisher).
     */
    Map<Long, List<String>> fillGapsFrom(int replayPort) {
        Map<Long, List<String>> all = new TreeMap<>(live);
        ZMQ.Socket replay = context.createSocket(SocketType.DEALER);
        replay.connect("tcp://127.0.0.1:" + replayPort);
        replay.setReceiveTimeOut(5_000);
        replay.sendMore(new byte[0]);
        replay.send(ByteBuffer.allocate(Long.BYTES).putLong(0).array());
        while (true) {
            byte[] delimiter = replay.recv();
            if (delimiter == null) {
                throw new AssertionError("no end to the replay within 5 s");
            }
            long sequence = ByteBuffer.wrap(replay.recv()).getLong();
            byte[] payload = replay.recv();
            if (sequence == -1) {
                break;
            }
            List<String> replayed = keys(payload);
            List<String> sent = live.get(sequence);
            if (sent != null) {
                compared++;
                alike &= sent.equals(replayed);
            }
            all.put(sequence, replayed);
        }
        replay.close();
        return all;
    }

    /** Whether every batch both received live and replayed had the same keys under the same number. */
    boolean replayedAlike() {
        return alike;
    }

    /** How many batches were both received live and replayed. */
    int compared() {
        return compared;
    }

    /** The keys of a KVEventBatch's BlockStored events. */
    private static List<String> keys(byte[] payload) {
        List<String> keys = new ArrayList<>();
        try (MessageUnpacker batch = MessagePack.newDefaultUnpacker(payload)) {
            int fields = batch.unpackMapHeader();
            for (int f = 0; f < fields; f++) {
                if (!batch.unpackString().equals("events")) {
                    batch.skipValue();
                    continue;
                }
                int events = batch.unpackArrayHeader();
                for (int e = 0; e < events; e++) {
                    String type = null;
                    String key = null;
                    int entries = batch.unpackMapHeader();
                    for (int i = 0; i < entries; i++) {
                        switch (batch.unpackString()) {
                            case "type" -> type = batch.unpackString();
                            case "block_hashes" -> {
                                batch.unpackArrayHeader();
                                key = new String(batch.readPayload(batch.unpackBinaryHeader()), StandardCharsets.UTF_8);
                            }
                            default -> batch.skipValue();
                        }
                    }
                    if ("BlockStored".equals(type)) {
                        keys.add(key);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return keys;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        receiver.join(2_000);
        context.close();
    }
}
