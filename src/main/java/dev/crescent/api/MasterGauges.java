package dev.crescent.api;

import dev.crescent.master.Master;
import dev.crescent.master.MasterCounters;
import dev.crescent.master.MasterOp;
import dev.crescent.master.ha.MasterLeadership;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/** Publishes the master's figures as {@code crescent_master_*} gauges and per-operation counters. */
@Singleton
public class MasterGauges {

    void register(@Observes StartupEvent event, MeterRegistry registry, Master master, MasterLeadership leadership) {
        Gauge.builder("crescent.master.objects", master, m -> m.stats().objectCount())
                .description("Complete objects in the index")
                .register(registry);
        Gauge.builder(
                        "crescent.master.objects.processing",
                        master,
                        m -> m.stats().processingCount())
                .description("Puts started and not yet ended")
                .register(registry);
        Gauge.builder("crescent.master.segments", master, m -> m.stats().segmentCount())
                .description("Mounted segments")
                .register(registry);
        Gauge.builder("crescent.master.evictions", master, m -> m.stats().evictedObjects())
                .description("Objects evicted since start")
                .register(registry);
        Gauge.builder("crescent.master.capacity", master, m -> m.stats().capacityBytes())
                .baseUnit("bytes")
                .description("Capacity of all mounted segments")
                .register(registry);
        Gauge.builder("crescent.master.used", master, m -> m.stats().usedBytes())
                .baseUnit("bytes")
                .description("Allocated bytes across mounted segments")
                .register(registry);
        Gauge.builder("crescent.master.lease.blocks", master, m -> m.stats().leaseBlocks())
                .description("Removes refused, evictions skipped and frees deferred because of a read lease")
                .register(registry);
        Gauge.builder("crescent.master.clients", master, m -> m.stats().clientCount())
                .description("Live workers and clients that mounted memory")
                .register(registry);
        FunctionCounter.builder("crescent.master.oplog.batches", leadership, MasterLeadership::oplogBatches)
                .description("Op-log entries (etcd writes) this leader made")
                .register(registry);
        FunctionCounter.builder("crescent.master.oplog.ops", leadership, MasterLeadership::oplogOps)
                .description("Index changes those entries carried")
                .register(registry);
        Gauge.builder("crescent.master.oplog.sequence", leadership, MasterLeadership::oplogSequence)
                .description(
                        "Last op-log batch written (leader) or applied (standby); the difference is a standby's lag")
                .register(registry);
        Gauge.builder("crescent.master.oplog.pending", leadership, MasterLeadership::oplogPending)
                .description("Changes queued for the leader's next op-log write")
                .register(registry);
        MasterCounters counters = master.counters();
        for (MasterOp op : MasterOp.values()) {
            FunctionCounter.builder("crescent.master.requests", counters, c -> c.requests(op))
                    .description("Master operations served, by operation")
                    .tag("op", op.tag())
                    .register(registry);
            FunctionCounter.builder("crescent.master.failures", counters, c -> c.failures(op))
                    .description("Master operations that failed, by operation")
                    .tag("op", op.tag())
                    .register(registry);
        }
    }
}
