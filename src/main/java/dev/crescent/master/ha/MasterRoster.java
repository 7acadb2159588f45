package dev.crescent.master.ha;

import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The masters of a cluster, leader and standbys: each keeps its address under {@code masters/} bound to a lease of
 * its own, so operators (and the CLI) see every master that is alive, not only the one that leads. A master that
 * dies drops out when its lease ends.
 */
final class MasterRoster implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(MasterRoster.class);

    /** A master of the cluster and whether it holds the leader key. */
    record Member(String address, boolean leader) {}

    private final MetadataStore store;
    private final MetadataKeys keys;
    private final Supplier<String> address;
    private final Duration ttl;
    private final Supplier<String> replicaAddress;
    private final ScheduledExecutorService ticker = Threads.daemonScheduler("crescent-roster");
    private long lease;

    /** @param replicaAddress where this master takes op-log batches, while it does (else it answers null) */
    MasterRoster(
            MetadataStore store,
            MetadataKeys keys,
            Supplier<String> address,
            Duration ttl,
            Supplier<String> replicaAddress) {
        this.store = store;
        this.replicaAddress = replicaAddress;
        this.keys = keys;
        this.address = address;
        this.ttl = ttl;
    }

    void start() {
        ticker.scheduleWithFixedDelay(this::tick, 0, Math.max(50, ttl.toMillis() / 3), TimeUnit.MILLISECONDS);
    }

    /** Every live master, the leader marked. */
    List<Member> members() {
        String leader = store.get(keys.leader())
                .map(kv -> new String(kv.value(), StandardCharsets.UTF_8))
                .orElse("");
        List<Member> members = new ArrayList<>();
        for (var kv : store.getPrefix(keys.masters())) {
            String member = new String(kv.value(), StandardCharsets.UTF_8);
            members.add(new Member(member, member.equals(leader)));
        }
        return members;
    }

    private synchronized void tick() {
        try {
            if (lease != 0) {
                store.keepAlive(lease);
                return;
            }
            long granted = store.grantLease(ttl);
            String me = address.get();
            store.put(keys.master(me), me.getBytes(StandardCharsets.UTF_8), granted);
            String replica = replicaAddress.get();
            if (replica != null) {
                store.put(keys.oplogReplica(me), replica.getBytes(StandardCharsets.UTF_8), granted);
            }
            lease = granted;
        } catch (StoreException e) {
            LOG.debugf("master roster: %s", e.getMessage());
            lease = 0; // lost or never had: put the key again under a new lease next time
        }
    }

    @Override
    public synchronized void close() {
        ticker.shutdownNow();
        if (lease != 0) {
            try {
                store.revokeLease(lease);
            } catch (StoreException e) {
                LOG.debugf("master roster: %s", e.getMessage());
            }
        }
    }
}
