package dev.crescent.worker;

import dev.crescent.transfer.shm.ShmFiles;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Segment files left in a shared-memory directory by processes that died without closing them (kill -9, a crash).
 * A file is kept for a restart of its own segment, which adopts it with the objects in it, for {@code retention}
 * after its owner last stamped it alive ({@link WorkerSegment#stampAlive}); after that any process that opens a
 * segment in the directory deletes it, so /dev/shm does not fill with memory nobody will claim.
 */
final class OrphanFiles {
    private static final Logger LOG = Logger.getLogger(OrphanFiles.class);

    private OrphanFiles() {}

    /**
     * Deletes the expired orphans of other segments and all but the newest orphan of {@code segment}.
     *
     * @param ownName the name this process gives its file of {@code segment}: a file there was left by an earlier
     *                process with this pid (a container restarted in the same pid namespace), so it is an orphan too
     * @return the newest file of {@code segment} whose process is gone, or null
     */
    static Path sweep(Path directory, String segment, Duration retention, Path ownName) {
        List<Path> own = new ArrayList<>();
        if (Files.isRegularFile(ownName, LinkOption.NOFOLLOW_LINKS)) {
            own.add(ownName);
        }
        Instant expired = Instant.now().minus(retention);
        for (Path file : orphans(directory)) {
            if (ShmFiles.isFileOf(file, segment)) {
                own.add(file);
            } else if (lastAlive(file).isBefore(expired)) {
                delete(file, "its process died more than " + retention + " ago");
            }
        }
        own.sort(Comparator.comparing(OrphanFiles::lastAlive).reversed());
        for (Path older : own.subList(Math.min(1, own.size()), own.size())) {
            delete(older, "a newer file of segment " + segment + " is left");
        }
        return own.isEmpty() ? null : own.getFirst();
    }

    /** Deletes a file of a dead process, saying why (best effort: a file that stays is swept again later). */
    static void delete(Path file, String why) {
        try {
            if (Files.deleteIfExists(file)) {
                LOG.infof("deleted segment file %s: %s", file, why);
            }
        } catch (IOException e) {
            LOG.debugf("segment file %s stays: %s", file, e);
        }
    }

    private static List<Path> orphans(Path directory) {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(ShmFiles::isSegmentFile)
                    .filter(f -> ShmFiles.pid(f) > 0
                            && ProcessHandle.of(ShmFiles.pid(f)).isEmpty())
                    .toList();
        } catch (IOException | RuntimeException e) {
            return List.of(); // an unreadable directory only means orphans stay
        }
    }

    private static Instant lastAlive(Path file) {
        try {
            return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant();
        } catch (IOException e) {
            return Instant.EPOCH; // gone meanwhile, or unreadable: nothing to keep it for
        }
    }
}
