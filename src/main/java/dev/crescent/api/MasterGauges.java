package dev.crescent.api;

import dev.crescent.common.Threads;
import dev.crescent.master.Master;
import dev.crescent.master.MasterCounters;
import dev.crescent.master.MasterOp;
import dev.crescent.master.Tenants;
import dev.crescent.master.ha.MasterLeadership;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

/**
 * Publishes the master's figures as {@code crescent_master_*} gauges and per-operation counters, and each tenant's
 * quota and holdings as {@code crescent_tenant_*{tenant=...}} (refreshed every second: tenants come and go at run
 * time).
 */
@Singleton
public class MasterGauges {
    private ScheduledExecutorService tenantRefresh;

    void register(@Observes StartupEvent event, MeterRegistry registry, Master master, MasterLeadership leadership) {
        registerTenants(registry, master);
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
                .description("Capacity of all mounted DRAM segments")
                .register(registry);
        Gauge.builder("crescent.master.used", master, m -> m.stats().usedBytes())
                .baseUnit("bytes")
                .description("Allocated bytes across mounted DRAM segments")
                .register(registry);
        Gauge.builder("crescent.master.disk.capacity", master, m -> m.stats().diskCapacityBytes())
                .baseUnit("bytes")
                .description("Capacity of the disk tier (workers' disk segments)")
                .register(registry);
        Gauge.builder("crescent.master.disk.used", master, m -> m.stats().diskUsedBytes())
                .baseUnit("bytes")
                .description("Allocated bytes in the disk tier")
                .register(registry);
        Gauge.builder("crescent.master.offloaded", master, m -> m.stats().offloadedObjects())
                .description("Objects moved from DRAM to the disk tier instead of being evicted, since start")
                .register(registry);
        Gauge.builder("crescent.master.promoted", master, m -> m.stats().promotedObjects())
                .description("Objects moved back from the disk tier to DRAM because they were read, since start")
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
                .description("Changes the leader has not written to etcd yet")
                .register(registry);
        FunctionCounter.builder("crescent.master.oplog.standby.acks", leadership, MasterLeadership::oplogHeldByStandbys)
                .description("Op-log batches acknowledged once every standby held them, before etcd had them")
                .register(registry);
        Gauge.builder("crescent.master.oplog.standbys", leadership, MasterLeadership::oplogStandbys)
                .description("Standbys the leader streams its op-log to")
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

    private void registerTenants(MeterRegistry registry, Master master) {
        MultiGauge used = MultiGauge.builder("crescent.tenant.used")
                .baseUnit("bytes")
                .description("Pool memory each tenant's objects hold (every replica)")
                .register(registry);
        MultiGauge quota = MultiGauge.builder("crescent.tenant.quota")
                .baseUnit("bytes")
                .description("Each tenant's byte quota")
                .register(registry);
        MultiGauge refused = MultiGauge.builder("crescent.tenant.refused.puts")
                .description("Puts refused QUOTA_EXCEEDED since the tenant was defined")
                .register(registry);
        tenantRefresh = Threads.daemonScheduler("crescent-tenant-gauges");
        tenantRefresh.scheduleWithFixedDelay(
                () -> {
                    List<Tenants.Account> accounts = master.tenants();
                    used.register(rows(accounts, Tenants.Account::usedBytes), true);
                    quota.register(rows(accounts, a -> a.quota().quotaBytes()), true);
                    refused.register(rows(accounts, Tenants.Account::refused), true);
                },
                0,
                1,
                TimeUnit.SECONDS);
    }

    private static List<MultiGauge.Row<?>> rows(List<Tenants.Account> accounts, ToLongFunction<Tenants.Account> value) {
        return accounts.stream()
                .<MultiGauge.Row<?>>map(
                        a -> MultiGauge.Row.of(Tags.of("tenant", a.quota().name()), value.applyAsLong(a)))
                .toList();
    }

    void stop(@Observes ShutdownEvent event) {
        if (tenantRefresh != null) {
            tenantRefresh.shutdownNow();
        }
    }
}
