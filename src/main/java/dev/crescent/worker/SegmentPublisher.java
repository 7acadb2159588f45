package dev.crescent.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.transfer.SegmentDescriptor;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.List;

/**
 * Keeps a worker's segment descriptor and worker record in the metadata store, both bound to one lease so they
 * vanish with the worker. {@link #keepPublished} runs periodically from one thread; a lease that expired (the
 * store was unreachable) is replaced and both entries are written again.
 */
public final class SegmentPublisher {
    private static final Logger LOG = Logger.getLogger(SegmentPublisher.class);

    private final MetadataStore metadata;
    private final MetadataKeys keys;
    private final ObjectMapper json;
    private final String nodeName;
    private final Duration leaseTtl;
    private long lease;

    public SegmentPublisher(
            MetadataStore metadata, MetadataKeys keys, ObjectMapper json, String nodeName, Duration leaseTtl) {
        this.metadata = metadata;
        this.keys = keys;
        this.json = json;
        this.nodeName = nodeName;
        this.leaseTtl = leaseTtl;
    }

    void keepPublished(SegmentDescriptor descriptor) {
        try {
            if (lease != 0) {
                metadata.keepAlive(lease);
                return;
            }
        } catch (StoreException expired) {
            LOG.warnf("descriptor lease of segment %s expired; publishing again", descriptor.name());
        }
        try {
            lease = metadata.grantLease(leaseTtl);
            metadata.put(keys.segment(descriptor.name()), json.writeValueAsBytes(descriptor), lease);
            WorkerRecord record =
                    new WorkerRecord(descriptor.owner(), nodeName, List.of(descriptor.name()), descriptor.endpoint());
            metadata.put(keys.worker(descriptor.owner()), json.writeValueAsBytes(record), lease);
        } catch (StoreException | JsonProcessingException e) {
            lease = 0;
            LOG.warnf("publishing segment %s failed: %s", descriptor.name(), e.getMessage());
        }
    }

    /** Removes both entries at once instead of waiting for the lease to run out. */
    void withdraw() {
        if (lease != 0) {
            metadata.revokeLease(lease);
            lease = 0;
        }
    }
}
