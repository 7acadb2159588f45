package dev.crescent.master.ha;

import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Master election through the metadata store: the leader holds one key bound to a lease it keeps alive; the
 * others try to create the key (compare-and-swap on absence) every {@code ttl / 6}, so when a leader dies its lease
 * runs out and a standby takes over within about one TTL.
 *
 * <p>A leader that cannot renew its lease suspends itself after two thirds of the TTL, before etcd lets anyone
 * else in, so a partitioned leader never serves next to a new one; it steps down for good once etcd shows another
 * leader, and resumes if etcd comes back with its lease intact.
 */
public final class LeaderElection implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LeaderElection.class);

    /** What a master does when it gains, cannot confirm, or loses leadership. */
    public interface Listener {
        void elected();

        /** Leadership is held but could not be renewed for a while (etcd unreachable): serve nothing. */
        default void suspended(String why) {}

        /** Renewal works again and the lease was never lost. */
        default void resumed() {}

        /** Another master leads (or may): stop for good. */
        void demoted(String why);
    }

    private final MetadataStore store;
    private final String key;
    private final Supplier<String> address;
    private final Duration ttl;
    private final Listener listener;
    private final ScheduledExecutorService ticker = Threads.daemonScheduler("crescent-election");
    private volatile boolean leader;
    private volatile boolean suspended;
    private volatile long leaderRevision;
    private volatile String knownLeader;
    private long lease;
    private volatile long lastRenewedNanos;

    /**
     * @param address this master's address as clients should reach it (read when campaigning)
     */
    public LeaderElection(MetadataStore store, String key, Supplier<String> address, Duration ttl, Listener listener) {
        this.store = store;
        this.key = key;
        this.address = address;
        this.ttl = ttl;
        this.listener = listener;
    }

    public void start() {
        // Six renewals per TTL: after suspending (at two thirds) there are still tries left before the lease ends.
        long period = Math.max(50, ttl.toMillis() / 6);
        ticker.scheduleWithFixedDelay(this::tick, 0, period, TimeUnit.MILLISECONDS);
    }

    /** Holding the leader key, but unable to confirm it lately (the metadata store is unreachable). */
    public boolean isSuspended() {
        return leader && (suspended || !confirmedRecently());
    }

    /** Leading, with the lease confirmed within the last two thirds of its TTL. */
    public boolean isLeader() {
        return leader && !suspended && confirmedRecently();
    }

    /**
     * Whether the lease was confirmed within two thirds of its TTL, asked of the clock rather than of the last renewal
     * to return: across a silent partition a renewal can block for the store's whole call timeout, longer than the
     * lease, and a flag set when it finally fails would let this master serve after a new one was elected.
     */
    private boolean confirmedRecently() {
        return System.nanoTime() - lastRenewedNanos < ttl.toNanos() * 2 / 3;
    }

    /** The store revision of the leader key this master created: what its op-log writes are guarded by. */
    public long leaderRevision() {
        return leaderRevision;
    }

    /** The leader's address as last seen (this master's own when it leads). */
    public Optional<String> leaderAddress() {
        return Optional.ofNullable(knownLeader);
    }

    private synchronized void tick() {
        try {
            if (leader) {
                renew();
            } else {
                campaign();
            }
        } catch (RuntimeException e) {
            LOG.errorf("election step failed: %s", e.getMessage());
        }
    }

    /**
     * Keeps the lease alive. Unconfirmed for two thirds of the TTL (etcd may already let another master in by the
     * end of it), the leader suspends itself; it resumes if renewal works again with the lease intact, and steps
     * down for good as soon as etcd answers that the leader key is not its own any more.
     */
    private void renew() {
        try {
            store.keepAlive(lease);
            lastRenewedNanos = System.nanoTime();
            if (suspended) {
                suspended = false;
                LOG.infof("leadership confirmed again");
                listener.resumed();
            }
            return;
        } catch (StoreException e) {
            long silentMillis = (System.nanoTime() - lastRenewedNanos) / 1_000_000;
            if (!suspended && silentMillis >= ttl.toMillis() * 2 / 3) {
                suspended = true;
                String why = "leadership lease not renewed for " + silentMillis + " ms: " + e.getMessage();
                LOG.errorf("suspending: %s", why);
                listener.suspended(why);
            }
        }
        if (suspended) {
            try {
                long current = store.get(key).map(kv -> kv.modRevision()).orElse(0L);
                if (current != leaderRevision) {
                    stepDown("the leader key is gone or another master's");
                }
            } catch (StoreException unreachable) {
                // Still cut off: stay suspended, try again next tick.
            }
        }
    }

    private void campaign() {
        String me = address.get();
        try {
            long candidateLease = store.grantLease(ttl);
            if (store.compareAndSwap(key, 0, me.getBytes(StandardCharsets.UTF_8), candidateLease)) {
                leaderRevision = store.get(key).map(kv -> kv.modRevision()).orElse(0L);
                lease = candidateLease;
                lastRenewedNanos = System.nanoTime();
                knownLeader = me;
                leader = true;
                LOG.infof("elected master leader (%s)", me);
                listener.elected();
                return;
            }
            store.revokeLease(candidateLease);
            knownLeader = store.get(key)
                    .map(kv -> new String(kv.value(), StandardCharsets.UTF_8))
                    .orElse(null);
        } catch (StoreException e) {
            LOG.debugf("campaign failed: %s", e.getMessage());
        }
    }

    private void stepDown(String why) {
        leader = false;
        suspended = false;
        knownLeader = null;
        LOG.errorf("stepping down as master leader: %s", why);
        listener.demoted(why);
    }

    /** Gives leadership up at once (a clean shutdown), so a standby need not wait for the lease to run out. */
    @Override
    public synchronized void close() {
        ticker.shutdownNow();
        if (leader) {
            leader = false;
            try {
                store.revokeLease(lease);
            } catch (StoreException e) {
                LOG.warnf("could not hand leadership back: %s", e.getMessage());
            }
        }
    }
}
