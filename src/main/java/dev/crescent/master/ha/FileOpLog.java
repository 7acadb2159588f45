package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.OpLog;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.ReplicatedIndex;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The op-log of a master that elects no leader, in a local file: every durable change is written to the file
 * before it is acknowledged, and replayed when the master starts again, so a master killed with -9 comes back with
 * every acknowledged object whose memory survived (a standalone node's own worker takes its segment file over).
 * Written, not synced: the bytes are in the kernel when a put is acknowledged, which a process crash cannot take
 * away, and a host crash can (that is what etcd is for). Each change is one frame, {@code [length][list of
 * entries]} ({@link OpLogCodec}); after {@code compactEvery} changes the whole state is written to a new file that
 * replaces the log.
 * Each key's changes are written in the order {@link #record} is called, inside the key's atomic section, as the
 * op-log contract asks (a call returns once its change is written); one lock orders the writes, and the encoding
 * is done before it is taken.
 */
public final class FileOpLog implements OpLog, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(FileOpLog.class);

    private final Path file;
    private final OpLogCodec codec;
    private final ReplicatedIndex state;
    private final long compactEvery;
    private FileChannel channel;
    private long sinceCompaction;
    private volatile boolean accepting = true;

    private FileOpLog(Path file, OpLogCodec codec, ReplicatedIndex state, long compactEvery, FileChannel channel) {
        this.file = file;
        this.codec = codec;
        this.state = state;
        this.compactEvery = compactEvery;
        this.channel = channel;
    }

    /**
     * Replays {@code file} (none yet: nothing to replay) and opens it to append to. A frame cut short by a crash in
     * the middle of its write is dropped: that change was never acknowledged.
     *
     * @return the log, whose {@link #state} is what the file held
     */
    public static FileOpLog open(Path file, ObjectMapper json, long compactEvery) {
        OpLogCodec codec = new OpLogCodec(json);
        ReplicatedIndex state = new ReplicatedIndex();
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            FileChannel channel = FileChannel.open(
                    file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long valid = replay(channel, codec, state, file);
            channel.truncate(valid);
            channel.position(valid);
            return new FileOpLog(file, codec, state, compactEvery, channel);
        } catch (IOException e) {
            throw new StoreException(ErrorCode.METADATA_ERROR, "cannot open the op-log file " + file + ": " + e, e);
        }
    }

    /** @return how many bytes of the file are whole frames */
    private static long replay(FileChannel channel, OpLogCodec codec, ReplicatedIndex state, Path file)
            throws IOException {
        ByteBuffer length = ByteBuffer.allocate(Integer.BYTES);
        long at = 0;
        long size = channel.size();
        while (at + Integer.BYTES <= size) {
            length.clear();
            channel.read(length, at);
            int frame = length.flip().getInt();
            if (frame <= 0 || at + Integer.BYTES + frame > size) {
                break;
            }
            ByteBuffer bytes = ByteBuffer.allocate(frame);
            channel.read(bytes, at + Integer.BYTES);
            List<OpLogEntry> entries;
            try {
                entries = codec.decode(bytes.array());
            } catch (IOException e) {
                break;
            }
            entries.forEach(state::apply);
            at += Integer.BYTES + frame;
        }
        if (at < size) {
            LOG.warnf("op-log file %s: %d bytes after the last whole change dropped (cut short)", file, size - at);
        }
        return at;
    }

    /** What the file held when opened, kept current with every change since. */
    public ReplicatedIndex state() {
        return state;
    }

    /**
     * Writes the change and answers once it is in the file. After a write fails nothing more is written (a frame cut
     * short must stay the last one, or the replay would stop before later changes): the master refuses writes until
     * it is restarted.
     */
    @Override
    public CompletableFuture<Void> record(OpLogEntry op) {
        ByteBuffer frame;
        try {
            frame = frame(List.of(op)); // outside the lock: the caller's key section already orders its own changes
        } catch (IOException e) {
            return CompletableFuture.failedFuture(refused(e));
        }
        return append(op, frame);
    }

    private synchronized CompletableFuture<Void> append(OpLogEntry op, ByteBuffer frame) {
        if (!accepting) {
            return CompletableFuture.failedFuture(refused(null));
        }
        try {
            write(frame);
        } catch (IOException e) {
            accepting = false;
            LOG.errorf("op-log file %s cannot be written: %s; refusing writes until restarted", file, e);
            return CompletableFuture.failedFuture(refused(e));
        }
        state.apply(op);
        if (++sinceCompaction >= compactEvery) {
            sinceCompaction = 0;
            try {
                compact();
            } catch (IOException e) {
                LOG.warnf("op-log file %s not compacted (%s); it grows until the next try", file, e);
            }
        }
        return CompletableFuture.completedFuture(null);
    }

    private StoreException refused(IOException cause) {
        return new StoreException(
                ErrorCode.METADATA_ERROR,
                "the op-log file " + file + " cannot be written" + (cause == null ? "" : ": " + cause),
                cause);
    }

    private ByteBuffer frame(List<OpLogEntry> entries) throws IOException {
        byte[] bytes = codec.encode(entries);
        return ByteBuffer.allocate(Integer.BYTES + bytes.length)
                .putInt(bytes.length)
                .put(bytes)
                .flip();
    }

    private void write(ByteBuffer frame) throws IOException {
        while (frame.hasRemaining()) {
            channel.write(frame);
        }
    }

    /**
     * Writes the whole state to a new file, synced, and moves it over the log: the log never grows past one state
     * and {@code compactEvery} changes.
     */
    private void compact() throws IOException {
        Path next = file.resolveSibling(file.getFileName() + ".next");
        FileChannel previous = channel;
        channel = FileChannel.open(
                next,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            write(frame(state.asEntries()));
            channel.force(false);
            Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            channel.close();
            channel = previous; // go on appending to the old log, which still holds everything
            throw e;
        }
        previous.close();
    }

    @Override
    public boolean accepting() {
        return accepting;
    }

    /** The master journals its own events, as without a log: its stream is its own. */
    @Override
    public boolean journalsEvents() {
        return false;
    }

    @Override
    public synchronized void close() {
        try {
            channel.force(false);
            channel.close();
        } catch (IOException e) {
            LOG.warnf("op-log file %s: %s at close", file, e);
        }
    }
}
