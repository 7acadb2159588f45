package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * A tenant: the keys under {@code prefix}, holding at most {@code quotaBytes} of pool memory (every replica counts).
 * Up to {@code reservedBytes} of it is the tenant's own: other tenants' puts and the watermark sweeper never evict
 * its objects while it holds no more than that; above it, they may. A key belongs to the tenant with the longest
 * prefix it starts with; keys under no tenant's prefix are limited only by the pool.
 *
 * @param reservedBytes null: the whole quota
 */
@RegisterForReflection
public record TenantQuota(String name, String prefix, long quotaBytes, Long reservedBytes) {

    public TenantQuota {
        if (name == null || !name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS, "a tenant name is 1 to 64 of A-Z a-z 0-9 . _ -, was '" + name + "'");
        }
        if (prefix == null || prefix.isEmpty()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "tenant '" + name + "' needs a key prefix");
        }
        ObjectKeys.validate(prefix);
        if (quotaBytes <= 0) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS, "tenant '" + name + "': quotaBytes must be positive, was " + quotaBytes);
        }
        if (reservedBytes != null && (reservedBytes < 0 || reservedBytes > quotaBytes)) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "tenant '" + name + "': reservedBytes must lie between 0 and the quota, was " + reservedBytes);
        }
    }

    /** The bytes other tenants' writes cannot evict from it. */
    public long reserved() {
        return reservedBytes == null ? quotaBytes : reservedBytes;
    }
}
