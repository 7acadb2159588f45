package dev.crescent.master;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchedPrefix;

import java.time.Duration;
import java.util.List;

/**
 * Tenant quotas as the admin API edits them: kept in the metadata store ({@code tenants/<name>}) and watched, so
 * every master sharing the store (the leader and its standbys) enforces the same quotas, and an edit takes effect at
 * once.
 */
public final class TenantRegistry implements AutoCloseable {
    private static final Duration APPLY_TIMEOUT = Duration.ofSeconds(5);

    private final MetadataStore store;
    private final MetadataKeys keys;
    private final ObjectMapper json;
    private final Master master;
    private final WatchedPrefix<TenantQuota> stored;

    public TenantRegistry(MetadataStore store, MetadataKeys keys, ObjectMapper json, Master master) {
        this.store = store;
        this.keys = keys;
        this.json = json;
        this.master = master;
        this.stored = new WatchedPrefix<>(
                store, keys.tenants(), value -> json.readValue(value, TenantQuota.class), this::apply);
        apply();
    }

    private void apply() {
        if (stored != null) { // null while constructing: the constructor applies once the listing is in
            master.defineTenants(List.copyOf(stored.all().values()));
        }
    }

    /** Adds or replaces a tenant's quota; in force on this master before it returns. */
    public void put(TenantQuota quota) {
        for (TenantQuota other : stored.all().values()) {
            if (!other.name().equals(quota.name()) && other.prefix().equals(quota.prefix())) {
                throw new StoreException(
                        ErrorCode.INVALID_PARAMS,
                        "tenant '" + other.name() + "' already has prefix '" + quota.prefix() + "'");
            }
        }
        long revision;
        try {
            revision = store.put(keys.tenants() + quota.name(), json.writeValueAsBytes(quota), 0);
        } catch (JsonProcessingException e) {
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot encode tenant '" + quota.name() + "'", e);
        }
        if (!stored.awaitRevision(quota.name(), revision, APPLY_TIMEOUT)) {
            throw new StoreException(
                    ErrorCode.METADATA_ERROR,
                    "tenant '" + quota.name() + "' was stored but did not take effect within " + APPLY_TIMEOUT);
        }
    }

    /** @return whether the tenant existed */
    public boolean delete(String name) {
        boolean existed = store.delete(keys.tenants() + name);
        if (existed && !stored.awaitAbsent(name, APPLY_TIMEOUT)) {
            throw new StoreException(
                    ErrorCode.METADATA_ERROR,
                    "tenant '" + name + "' was deleted but the change did not arrive within " + APPLY_TIMEOUT);
        }
        return existed;
    }

    @Override
    public void close() {
        stored.close();
    }
}
