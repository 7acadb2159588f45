package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.EvictionCandidate;
import dev.crescent.master.eviction.EvictionPolicy;
import dev.crescent.master.placement.PlacementStrategy;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * The master's object semantics: two-phase put with owner check, first writer wins, upsert, replica lists with
 * read leases, remove. It decides where bytes go and never touches them.
 *
 * <p>Memory of an object that may still be read (an active lease) is never handed out again before the lease
 * ends: such ranges wait in {@link #deferred} until {@link #sweep} finds the lease over.
 */
public final class Master {
    private final ObjectIndex index = new ObjectIndex();
    private final SegmentRegistry segments;
    private final PlacementStrategy placement;
    private final MasterSettings settings;
    private final InstantSource clock;
    /** Keys with an unfinished PutStart, and when it started; sweep reclaims the abandoned ones. */
    private final ConcurrentHashMap<String, Long> processing = new ConcurrentHashMap<>();
    private final PriorityBlockingQueue<DeferredRelease> deferred = new PriorityBlockingQueue<>();
    private final LongAdder completeObjects = new LongAdder();
    private final LongAdder evictedObjects = new LongAdder();
    private final EvictionPolicy eviction;

    public Master(MasterSettings settings, PlacementStrategy placement, EvictionPolicy eviction, InstantSource clock) {
        this.settings = settings;
        this.placement = placement;
        this.eviction = eviction;
        this.clock = clock;
        this.segments = new SegmentRegistry(settings.allocationAlignment());
    }

    public SegmentRegistry segments() {
        return segments;
    }

    public void mountSegment(String clientId, String segment, long capacity, String endpoint) {
        segments.mount(clientId, segment, capacity, endpoint);
    }

    /** Unmounts a segment; objects whose only replicas were on it are dropped, others stay readable. */
    public void unmountSegment(String clientId, String segment) {
        MountedSegment gone = segments.unmount(clientId, segment);
        List<String> affected = new ArrayList<>();
        index.forEach(meta -> {
            if (meta.replicas.stream().anyMatch(r -> r.segment() == gone)) {
                affected.add(meta.key);
            }
        });
        for (String key : affected) {
            index.update(key, (k, meta) -> {
                if (meta == null) {
                    return null;
                }
                meta.replicas = meta.replicas.stream().filter(r -> r.segment() != gone).toList();
                if (!meta.replicas.isEmpty()) {
                    return meta;
                }
                forget(meta);
                return null;
            });
        }
    }

    /**
     * Reserves one range per replica and records the object as PROCESSING.
     *
     * @param replicaNum wanted replicas (0 = configured default); fewer are placed when fewer segments have room
     * @param upsert     overwrite a complete object instead of answering OBJECT_ALREADY_EXISTS
     */
    public List<ReplicaDescriptor> putStart(String clientId, String key, long size, int replicaNum, boolean upsert) {
        try {
            return startPut(clientId, key, size, replicaNum, upsert);
        } catch (StoreException e) {
            if (e.code() != ErrorCode.NO_AVAILABLE_HANDLE || size > largestSegmentBytes()) {
                // Evicting cannot make room for an object larger than every segment: keep what is stored.
                throw e;
            }
            // No room: evict (outside any per-key section) and try once more before answering back-pressure.
            evict(Math.max(size, (long) (segments.capacityBytes() * settings.evictionRatio())));
            return startPut(clientId, key, size, replicaNum, upsert);
        }
    }

    private List<ReplicaDescriptor> startPut(String clientId, String key, long size, int replicaNum,
                                             boolean upsert) {
        ObjectKeys.validate(key);
        requireClient(clientId);
        if (size <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "object size must be positive, was " + size);
        }
        if (replicaNum < 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "replica count must not be negative");
        }
        int wanted = replicaNum == 0 ? settings.defaultReplicaNum() : replicaNum;
        long now = clock.millis();
        ObjectMeta started = index.update(key, (k, existing) -> {
            if (existing != null) {
                if (existing.state == ObjectState.PROCESSING) {
                    if (now - existing.putStartMillis < settings.putStartDiscardTimeout().toMillis()) {
                        throw new StoreException(ErrorCode.OBJECT_ALREADY_EXISTS,
                                "a put of '" + key + "' is in progress");
                    }
                    // The earlier writer has been silent past the discard timeout: pre-empt it. Allocate first,
                    // so that a failed allocation leaves its entry as it was.
                    ObjectMeta fresh = new ObjectMeta(k, size, clientId, now, allocateReplicas(size, wanted));
                    forget(existing);
                    return fresh;
                } else if (!upsert) {
                    throw new StoreException(ErrorCode.OBJECT_ALREADY_EXISTS, "object '" + key + "' exists");
                } else {
                    return overwrite(existing, clientId, size, wanted, now);
                }
            }
            return new ObjectMeta(k, size, clientId, now, allocateReplicas(size, wanted));
        });
        processing.put(key, started.putStartMillis);
        return describe(started.replicas);
    }

    /** Makes the object readable. Only the client that started the put may end it. */
    public void putEnd(String clientId, String key) {
        ObjectKeys.validate(key);
        index.update(key, (k, meta) -> {
            requireOwnedPut(meta, clientId, key);
            if (meta.state == ObjectState.PROCESSING) {
                meta.state = ObjectState.COMPLETE;
                meta.completedMillis = clock.millis();
                meta.lastAccessMillis = meta.completedMillis;
                completeObjects.increment();
                processing.remove(key, meta.putStartMillis);
            }
            return meta;
        });
    }

    /** Abandons an unfinished put and frees its ranges. Only the client that started the put may revoke it. */
    public void putRevoke(String clientId, String key) {
        ObjectKeys.validate(key);
        index.update(key, (k, meta) -> {
            requireOwnedPut(meta, clientId, key);
            if (meta.state == ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "put of '" + key + "' already ended");
            }
            forget(meta);
            return null;
        });
    }

    /** The readable replicas of a complete object, with a fresh read lease. */
    public ObjectLocation getReplicaList(String key) {
        ObjectKeys.validate(key);
        long now = clock.millis();
        long deadline = now + settings.leaseTtl().toMillis();
        ObjectLocation[] answer = new ObjectLocation[1];
        index.update(key, (k, meta) -> {
            if (meta == null) {
                throw notFound(key);
            }
            if (meta.state != ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.REPLICA_IS_NOT_READY, "put of '" + key + "' has not ended");
            }
            List<Replica> live = meta.liveReplicas();
            if (live.isEmpty()) {
                throw notFound(key);
            }
            meta.leaseDeadlineMillis = Math.max(meta.leaseDeadlineMillis, deadline);
            touch(meta, now);
            answer[0] = new ObjectLocation(meta.size, describe(live), meta.leaseDeadlineMillis);
            return meta;
        });
        return answer[0];
    }

    /** Whether a complete object exists; an existing object also gets a read lease. Not-found is just false. */
    public boolean exist(String key) {
        ObjectKeys.validate(key);
        long now = clock.millis();
        long deadline = now + settings.leaseTtl().toMillis();
        boolean[] found = new boolean[1];
        index.update(key, (k, meta) -> {
            if (meta != null && meta.state == ObjectState.COMPLETE) {
                meta.leaseDeadlineMillis = Math.max(meta.leaseDeadlineMillis, deadline);
                touch(meta, now);
                found[0] = true;
            }
            return meta;
        });
        return found[0];
    }

    /**
     * Removes a complete object. A leased object is refused with OBJECT_HAS_LEASE unless {@code force}; a forced
     * remove hides the key at once but keeps its memory until the lease ends, so readers in flight stay correct.
     */
    public void remove(String key, boolean force) {
        ObjectKeys.validate(key);
        long now = clock.millis();
        index.update(key, (k, meta) -> {
            if (meta == null) {
                throw notFound(key);
            }
            if (meta.state != ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.REPLICA_IS_NOT_READY,
                        "put of '" + key + "' has not ended; revoke it instead");
            }
            if (meta.isLeased(now) && !force) {
                throw new StoreException(ErrorCode.OBJECT_HAS_LEASE,
                        "object '" + key + "' is leased to readers; remove with force");
            }
            forget(meta);
            return null;
        });
    }

    /**
     * Periodic housekeeping: frees ranges whose read lease has ended and reclaims PutStarts silent longer than
     * the release timeout.
     */
    public void sweep() {
        long now = clock.millis();
        for (DeferredRelease head = deferred.peek(); head != null && head.deadlineMillis <= now;
             head = deferred.peek()) {
            DeferredRelease due = deferred.poll();
            if (due != null) {
                due.replicas.forEach(Replica::release);
            }
        }
        long releaseMillis = settings.putStartReleaseTimeout().toMillis();
        processing.forEach((key, startedAt) -> {
            if (now - startedAt >= releaseMillis) {
                index.update(key, (k, meta) -> {
                    if (meta != null && meta.state == ObjectState.PROCESSING && meta.putStartMillis == startedAt) {
                        forget(meta);
                        return null;
                    }
                    return meta;
                });
                processing.remove(key, startedAt);
            }
        });
    }

    public MasterStats stats() {
        return new MasterStats(completeObjects.sum(), processing.size(), segments.view().size(),
                segments.capacityBytes(), segments.usedBytes(), evictedObjects.sum());
    }

    /** Evicts {@code eviction-ratio} of capacity when usage is above the high watermark (run by the sweeper). */
    public long evictAboveWatermark() {
        long capacity = segments.capacityBytes();
        if (capacity == 0 || segments.usedBytes() <= capacity * settings.evictionHighWatermark()) {
            return 0;
        }
        return evict((long) (capacity * settings.evictionRatio()));
    }

    /**
     * Frees at least {@code bytes} if it can, in the policy's order. Never evicts a leased or unfinished object;
     * each victim is re-checked in its own atomic section, so a read that leases it meanwhile saves it.
     *
     * @return bytes freed
     */
    public long evict(long bytes) {
        long now = clock.millis();
        List<EvictionCandidate> candidates = new ArrayList<>();
        index.forEach(meta -> {
            if (meta.state == ObjectState.COMPLETE && !meta.isLeased(now)) {
                candidates.add(new EvictionCandidate(meta.key, meta.size, meta.completedMillis, meta.lastAccessMillis,
                        meta.accessCount));
            }
        });
        candidates.sort(eviction.order());
        long freed = 0;
        for (EvictionCandidate candidate : candidates) {
            if (freed >= bytes) {
                break;
            }
            long[] released = new long[1];
            index.update(candidate.key(), (k, meta) -> {
                if (meta == null || meta.state != ObjectState.COMPLETE || meta.isLeased(clock.millis())) {
                    return meta;
                }
                released[0] = meta.size * meta.replicas.size();
                forget(meta);
                return null;
            });
            if (released[0] > 0) {
                freed += released[0];
                evictedObjects.increment();
            }
        }
        return freed;
    }

    private long largestSegmentBytes() {
        return segments.view().stream().mapToLong(MountedSegment::capacity).max().orElse(0);
    }

    private static void touch(ObjectMeta meta, long now) {
        meta.lastAccessMillis = now;
        meta.accessCount++;
    }

    /** Rewrites a complete object: in place when the size is unchanged and nobody reads it, else new ranges. */
    private ObjectMeta overwrite(ObjectMeta existing, String clientId, long size, int wanted, long now) {
        List<Replica> live = existing.liveReplicas();
        ObjectMeta fresh;
        if (existing.size == size && !existing.isLeased(now) && !live.isEmpty()) {
            fresh = new ObjectMeta(existing.key, size, clientId, now, live);
        } else {
            // Allocate before letting go, so a failed allocation leaves the old object intact.
            fresh = new ObjectMeta(existing.key, size, clientId, now, allocateReplicas(size, wanted));
            release(existing, now);
        }
        completeObjects.decrement();
        return fresh;
    }

    private List<Replica> allocateReplicas(long size, int wanted) {
        List<Replica> placed = new ArrayList<>(wanted);
        for (MountedSegment segment : placement.candidates(segments.mounted(), size)) {
            if (placed.size() == wanted) {
                break;
            }
            Allocation range = segment.allocate(size);
            if (range != null) {
                placed.add(new Replica(segment, range));
            }
        }
        if (placed.isEmpty()) {
            throw new StoreException(ErrorCode.NO_AVAILABLE_HANDLE,
                    "no segment has " + size + " contiguous free bytes (capacity " + segments.capacityBytes()
                            + ", used " + segments.usedBytes() + ")");
        }
        return List.copyOf(placed);
    }

    /** Drops an object that is leaving the index: counters, and its memory now or when its lease ends. */
    private void forget(ObjectMeta meta) {
        if (meta.state == ObjectState.COMPLETE) {
            completeObjects.decrement();
        } else {
            processing.remove(meta.key, meta.putStartMillis);
        }
        release(meta, clock.millis());
    }

    private void release(ObjectMeta meta, long now) {
        if (meta.isLeased(now)) {
            deferred.add(new DeferredRelease(meta.leaseDeadlineMillis, meta.replicas));
        } else {
            meta.replicas.forEach(Replica::release);
        }
    }

    private static void requireOwnedPut(ObjectMeta meta, String clientId, String key) {
        if (meta == null) {
            throw notFound(key);
        }
        if (!Objects.equals(meta.ownerClientId, clientId)) {
            throw new StoreException(ErrorCode.ILLEGAL_CLIENT,
                    "put of '" + key + "' was started by another client");
        }
    }

    private static void requireClient(String clientId) {
        if (clientId == null || clientId.isBlank()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "client id must not be empty");
        }
    }

    private static StoreException notFound(String key) {
        return new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' not found");
    }

    private static List<ReplicaDescriptor> describe(List<Replica> replicas) {
        return replicas.stream().map(Replica::describe).toList();
    }

    private record DeferredRelease(long deadlineMillis, List<Replica> replicas)
            implements Comparable<DeferredRelease> {
        @Override
        public int compareTo(DeferredRelease other) {
            return Long.compare(deadlineMillis, other.deadlineMillis);
        }
    }
}
