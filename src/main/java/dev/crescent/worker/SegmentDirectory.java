package dev.crescent.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchedPrefix;
import dev.crescent.transfer.SegmentDescriptor;

import java.util.Map;

/**
 * Opens segments by name from the descriptors workers publish in the metadata store. The prefix is watched, so
 * opening is a map lookup and a worker that restarts elsewhere (or disappears with its lease) is seen without
 * polling.
 */
public final class SegmentDirectory implements AutoCloseable {
    private final WatchedPrefix<SegmentDescriptor> segments;

    public SegmentDirectory(MetadataStore store, MetadataKeys keys, ObjectMapper json) {
        this.segments = new WatchedPrefix<>(
                store, keys.segments(), value -> json.readValue(value, SegmentDescriptor.class), () -> {});
    }

    /** The segment's current descriptor; SEGMENT_NOT_FOUND when no live worker publishes it. */
    public SegmentDescriptor open(String name) {
        SegmentDescriptor segment = segments.get(name);
        if (segment == null) {
            throw new StoreException(ErrorCode.SEGMENT_NOT_FOUND, "no live segment named '" + name + "'");
        }
        return segment;
    }

    /** Live segments by name. */
    public Map<String, SegmentDescriptor> all() {
        return segments.all();
    }

    @Override
    public void close() {
        segments.close();
    }
}
