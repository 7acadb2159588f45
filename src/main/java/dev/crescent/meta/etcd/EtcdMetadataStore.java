package dev.crescent.meta.etcd;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchEvent;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchResponse;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The metadata store in etcd (v3 API through jetcd): what a cluster of masters and workers shares. Every call is
 * bounded by a timeout and fails as METADATA_ERROR, so an etcd outage is a clear error, never a hang.
 */
public final class EtcdMetadataStore implements MetadataStore {
    private final Client client;
    private final KV kv;
    private final Lease leases;
    private final Watch watches;
    private final Duration timeout;

    /** @param endpoints etcd client URLs ({@code http://host:2379}) */
    public EtcdMetadataStore(List<String> endpoints, Duration timeout) {
        this.client =
                Client.builder().endpoints(endpoints.toArray(String[]::new)).build();
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.watches = client.getWatchClient();
        this.timeout = timeout;
    }

    @Override
    public Optional<KeyValue> get(String key) {
        GetResponse response = await("get " + key, kv.get(bytes(key)));
        return response.getKvs().stream().findFirst().map(EtcdMetadataStore::entry);
    }

    @Override
    public List<KeyValue> getPrefix(String prefix) {
        GetOption byPrefix = GetOption.builder()
                .isPrefix(true)
                .withSortField(GetOption.SortTarget.KEY)
                .withSortOrder(GetOption.SortOrder.ASCEND)
                .build();
        return await("list " + prefix, kv.get(bytes(prefix), byPrefix)).getKvs().stream()
                .map(EtcdMetadataStore::entry)
                .toList();
    }

    @Override
    public long put(String key, byte[] value, long leaseId) {
        return await("put " + key, kv.put(bytes(key), ByteSequence.from(value), leaseOption(leaseId)))
                .getHeader()
                .getRevision();
    }

    @Override
    public boolean delete(String key) {
        return await("delete " + key, kv.delete(bytes(key))).getDeleted() > 0;
    }

    @Override
    public long deleteRange(String fromInclusive, String toExclusive) {
        return await(
                        "delete range " + fromInclusive,
                        kv.delete(
                                bytes(fromInclusive),
                                DeleteOption.builder()
                                        .withRange(bytes(toExclusive))
                                        .build()))
                .getDeleted();
    }

    @Override
    public void compact(long revision) {
        try {
            await("compact to revision " + revision, kv.compact(revision));
        } catch (StoreException e) {
            // Compacted already, to this revision or past it (another master, or an operator): nothing to forget.
            if (!String.valueOf(e.getMessage()).contains("compacted")) {
                throw e;
            }
        }
    }

    @Override
    public boolean compareAndSwap(String key, long expectedModRevision, byte[] value, long leaseId) {
        ByteSequence k = bytes(key);
        // An absent key has version 0; a present one is matched by the revision of its last change.
        Cmp condition = expectedModRevision == 0
                ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.version(0))
                : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedModRevision));
        return await(
                        "compare-and-swap " + key,
                        kv.txn()
                                .If(condition)
                                .Then(Op.put(k, ByteSequence.from(value), leaseOption(leaseId)))
                                .commit())
                .isSucceeded();
    }

    @Override
    public boolean createGuarded(String guardKey, long guardModRevision, List<KeyValue> entries) {
        List<Cmp> conditions = new ArrayList<>(entries.size() + 1);
        List<Op> puts = new ArrayList<>(entries.size());
        conditions.add(new Cmp(bytes(guardKey), Cmp.Op.EQUAL, CmpTarget.modRevision(guardModRevision)));
        for (KeyValue entry : entries) {
            ByteSequence k = bytes(entry.key());
            conditions.add(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.version(0)));
            puts.add(Op.put(k, ByteSequence.from(entry.value()), PutOption.DEFAULT));
        }
        return await(
                        "guarded create " + entries.getFirst().key() + " (" + entries.size() + " keys)",
                        kv.txn()
                                .If(conditions.toArray(Cmp[]::new))
                                .Then(puts.toArray(Op[]::new))
                                .commit())
                .isSucceeded();
    }

    @Override
    public long grantLease(Duration ttl) {
        long seconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
        return await("grant lease", leases.grant(seconds)).getID();
    }

    @Override
    public void keepAlive(long leaseId) {
        await("keep lease " + Long.toHexString(leaseId) + " alive", leases.keepAliveOnce(leaseId));
    }

    @Override
    public void revokeLease(long leaseId) {
        await("revoke lease " + Long.toHexString(leaseId), leases.revoke(leaseId));
    }

    @Override
    public AutoCloseable watchPrefix(String prefix, Consumer<WatchEvent> listener) {
        // From the revision after the store's current one: a watch opened without one starts wherever etcd registers
        // it, after this method has returned, and missed changes made in between (seen in CI).
        long now = await(
                        "revision of " + prefix,
                        kv.get(
                                bytes(prefix),
                                GetOption.builder().withCountOnly(true).build()))
                .getHeader()
                .getRevision();
        Watch.Watcher watcher = watches.watch(
                bytes(prefix),
                WatchOption.builder().isPrefix(true).withRevision(now + 1).build(),
                (WatchResponse response) -> response.getEvents()
                        .forEach(event -> listener.accept(new WatchEvent(
                                event.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.DELETE
                                        ? WatchEvent.Type.DELETE
                                        : WatchEvent.Type.PUT,
                                entry(event.getKeyValue())))));
        return watcher::close;
    }

    @Override
    public void close() {
        client.close();
    }

    private static PutOption leaseOption(long leaseId) {
        return leaseId == 0
                ? PutOption.DEFAULT
                : PutOption.builder().withLeaseId(leaseId).build();
    }

    private static ByteSequence bytes(String key) {
        return ByteSequence.from(key, StandardCharsets.UTF_8);
    }

    private static KeyValue entry(io.etcd.jetcd.KeyValue kv) {
        return new KeyValue(
                kv.getKey().toString(StandardCharsets.UTF_8),
                kv.getValue().getBytes(),
                kv.getModRevision(),
                kv.getLease());
    }

    private <T> T await(String what, CompletableFuture<T> call) {
        try {
            return call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException(ErrorCode.METADATA_ERROR, "etcd " + what + ": interrupted", e);
        } catch (ExecutionException e) {
            throw new StoreException(
                    ErrorCode.METADATA_ERROR,
                    "etcd " + what + " failed: "
                            + (e.getCause() == null
                                    ? e.getMessage()
                                    : e.getCause().getMessage()),
                    e);
        } catch (TimeoutException e) {
            call.cancel(true);
            throw new StoreException(ErrorCode.METADATA_ERROR, "etcd " + what + ": no answer within " + timeout, e);
        }
    }
}
