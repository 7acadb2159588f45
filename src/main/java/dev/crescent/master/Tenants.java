package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.SegmentTier;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What each tenant holds, kept exact without a global lock: every object remembers the account it is charged to
 * and by how much ({@link ObjectMeta#chargedTo}), and {@link ObjectIndex} settles it in the key's own atomic section
 * whenever the object changes or leaves. So an account never drifts, however puts, evictions and quota edits
 * interleave. A put reserves its bytes before it allocates ({@link #reserve}), so concurrent puts of one tenant
 * cannot together pass its quota.
 */
public final class Tenants {

    /** One tenant's quota and what it holds now. */
    public static final class Account {
        final TenantQuota quota;
        final AtomicLong used = new AtomicLong();
        final LongAdder refused = new LongAdder();

        Account(TenantQuota quota) {
            this.quota = quota;
        }

        public TenantQuota quota() {
            return quota;
        }

        /** Bytes of pool memory its objects hold (every replica), including puts not yet ended. */
        public long usedBytes() {
            return used.get();
        }

        /** Puts answered QUOTA_EXCEEDED (after their own eviction could not make room). */
        public long refused() {
            return refused.sum();
        }

        boolean aboveReserved() {
            return used.get() > quota.reserved();
        }
    }

    /** Longest prefix first, so the first match is a key's tenant. */
    private volatile List<Account> accounts = List.of();

    /** The tenants defined now, with what each holds, by name. */
    public List<Account> accounts() {
        return accounts.stream()
                .sorted(Comparator.comparing(a -> a.quota.name()))
                .toList();
    }

    /**
     * Puts these definitions in force. Accounts of tenants whose definition is unchanged carry over; the caller then
     * re-settles every object ({@link #settle}) so objects move to the account their key now belongs to.
     */
    synchronized void define(List<TenantQuota> quotas) {
        List<Account> next = new ArrayList<>();
        for (TenantQuota quota : quotas) {
            next.add(accounts.stream()
                    .filter(a -> a.quota.equals(quota))
                    .findFirst()
                    .orElseGet(() -> new Account(quota)));
        }
        next.sort(Comparator.comparingInt((Account a) -> a.quota.prefix().length())
                .reversed());
        accounts = List.copyOf(next);
    }

    /** The account of {@code key}'s tenant, or null for a key under no tenant. */
    Account of(String key) {
        for (Account account : accounts) {
            if (key.startsWith(account.quota.prefix())) {
                return account;
            }
        }
        return null;
    }

    /** DRAM bytes: quotas share the memory pool, not the disk tier. */
    static long bytesOf(ObjectMeta meta) {
        return meta.size * meta.replicasIn(SegmentTier.DRAM);
    }

    /**
     * Reserves {@code bytes} for a put of {@code key} ahead of allocation. The object it replaces ({@code existing},
     * or null) counts as gone: its charge leaves when it leaves the index, in the same section.
     *
     * @return the account charged (null: no tenant), for {@link #unreserve} should the put fail before it lands
     * @throws StoreException QUOTA_EXCEEDED when the tenant would hold more than its quota
     */
    Account reserve(String key, long bytes, ObjectMeta existing) {
        Account account = of(key);
        if (account == null) {
            return null;
        }
        long replacing = existing != null && existing.chargedTo == account ? existing.chargedBytes : 0;
        long quota = account.quota.quotaBytes();
        while (true) {
            long used = account.used.get();
            if (used - replacing + bytes > quota) {
                throw new StoreException(
                        ErrorCode.QUOTA_EXCEEDED,
                        "tenant '" + account.quota.name() + "' holds " + used + " of its " + quota + " bytes; a put of "
                                + bytes + " more bytes for '" + key + "' does not fit");
            }
            if (account.used.compareAndSet(used, used + bytes)) {
                return account;
            }
        }
    }

    /** Counts a put of {@code key} that was answered QUOTA_EXCEEDED. */
    void refused(String key) {
        Account account = of(key);
        if (account != null) {
            account.refused.increment();
        }
    }

    static void unreserve(Account account, long bytes) {
        if (account != null) {
            account.used.addAndGet(-bytes);
        }
    }

    /** Marks {@code meta} as already charged {@code bytes} to {@code account} (by {@link #reserve}). */
    static void charged(ObjectMeta meta, Account account, long bytes) {
        meta.chargedTo = account;
        meta.chargedBytes = account == null ? 0 : bytes;
    }

    /** Brings {@code meta}'s charge up to date: its tenant now, its bytes now. Runs in the key's atomic section. */
    void settle(ObjectMeta meta) {
        Account now = of(meta.key);
        if (meta.chargedTo != now) {
            leave(meta);
            meta.chargedTo = now;
        }
        if (now != null) {
            long bytes = bytesOf(meta);
            now.used.addAndGet(bytes - meta.chargedBytes);
            meta.chargedBytes = bytes;
        }
    }

    /** Takes {@code meta}'s charge off its account (it left the index). */
    static void leave(ObjectMeta meta) {
        if (meta.chargedTo != null) {
            meta.chargedTo.used.addAndGet(-meta.chargedBytes);
        }
        meta.chargedTo = null;
        meta.chargedBytes = 0;
    }

    /**
     * Whether a put of {@code forKey} (null: the watermark sweeper) may evict {@code victim}: an object under no
     * tenant, one of the putting tenant's own, or one of a tenant holding more than its reserved share.
     */
    boolean mayEvict(String victim, String forKey) {
        Account owner = of(victim);
        return owner == null || owner.aboveReserved() || (forKey != null && owner == of(forKey));
    }
}
