package dev.crescent.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchEvent;
import dev.crescent.transfer.RemoteSegment;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Opens segments by name from the descriptors workers publish in the metadata store. The whole prefix is read
 * once and then kept current by a watch, so opening is a map lookup and a worker that restarts elsewhere (or
 * disappears with its lease) is seen without polling.
 */
public final class SegmentDirectory implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SegmentDirectory.class);

    private final ConcurrentHashMap<String, Versioned> byName = new ConcurrentHashMap<>();
    private final ObjectMapper json;
    private final String prefix;
    private final AutoCloseable watch;

    public SegmentDirectory(MetadataStore store, MetadataKeys keys, ObjectMapper json) {
        this.json = json;
        this.prefix = keys.segments();
        // Watch first, then list: a change landing in between is applied twice, never lost.
        this.watch = store.watchPrefix(prefix, this::apply);
        store.getPrefix(prefix).forEach(this::put);
    }

    /** The segment's current descriptor; SEGMENT_NOT_FOUND when no live worker publishes it. */
    public RemoteSegment open(String name) {
        Versioned current = byName.get(name);
        if (current == null || current.segment() == null) {
            throw new StoreException(ErrorCode.SEGMENT_NOT_FOUND, "no live segment named '" + name + "'");
        }
        return current.segment();
    }

    /** Live segments by name. */
    public Map<String, RemoteSegment> all() {
        Map<String, RemoteSegment> live = new java.util.TreeMap<>();
        byName.forEach((name, v) -> {
            if (v.segment() != null) {
                live.put(name, v.segment());
            }
        });
        return live;
    }

    private void apply(WatchEvent event) {
        if (event.type() == WatchEvent.Type.PUT) {
            put(event.entry());
        } else {
            // A tombstone, so an older listing applied late cannot bring the segment back.
            keepNewest(event.entry().key().substring(prefix.length()), new Versioned(null, event.entry().modRevision()));
        }
    }

    /** Events and the initial listing may arrive in any order: the higher store revision wins. */
    private void keepNewest(String name, Versioned candidate) {
        byName.merge(name, candidate, (old, fresh) -> fresh.revision() >= old.revision() ? fresh : old);
    }

    private record Versioned(RemoteSegment segment, long revision) {
    }

    private void put(KeyValue entry) {
        try {
            SegmentDescriptor d = json.readValue(entry.value(), SegmentDescriptor.class);
            keepNewest(entry.key().substring(prefix.length()),
                    new Versioned(new RemoteSegment(d.name(), d.endpoint(), d.size()), entry.modRevision()));
        } catch (IOException e) {
            LOG.warnf("ignoring unreadable segment descriptor %s: %s", entry.key(), e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            watch.close();
        } catch (Exception ignored) {
            // The store is going away too.
        }
    }
}
