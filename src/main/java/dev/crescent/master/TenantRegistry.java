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

    private final ObjectMapper json;
    private final Master master;
    private final WatchedPrefix<TenantQuota> stored;

    public TenantRegistry(MetadataStore store, MetadataKeys keys, ObjectMapper json, Master master) {
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
        try {
            stored.write(quota.name(), json.writeValueAsBytes(quota), APPLY_TIMEOUT);
        } catch (JsonProcessingException e) {
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot encode tenant '" + quota.name() + "'", e);
        }
    }

    /** @return whether the tenant existed */
    public boolean delete(String name) {
        return stored.delete(name, APPLY_TIMEOUT);
    }

    @Override
    public void close() {
        stored.close();
    }
}
