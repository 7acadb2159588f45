package dev.crescent.master.access;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;

import java.util.Collection;
import java.util.List;

/**
 * An immutable whitelist: a call is allowed when some rule applies to the caller, covers the key and grants the
 * right. Nothing else is allowed. A disabled policy allows everything (a single box needs no rules).
 */
public final class AccessPolicy {
    private final boolean enabled;
    private final List<AccessRule.CompiledRule> rules;
    private final boolean trustStatedNames;

    /**
     * @param trustStatedNames let rules match node names callers merely state (headers, the wire hello). Off, only
     *                         names proven by a client certificate match; a rule naming nodes then never applies to
     *                         a caller without one
     */
    public AccessPolicy(boolean enabled, Collection<AccessRule> rules, boolean trustStatedNames) {
        this.enabled = enabled;
        this.rules = rules.stream().map(AccessRule::compile).toList();
        this.trustStatedNames = trustStatedNames;
    }

    public boolean enabled() {
        return enabled;
    }

    /**
     * @param key the key the call touches, or null for calls on no key (mounts, admin); a rule limited to
     *            prefixes covers no such call
     */
    public boolean allows(Caller caller, Right right, String key) {
        if (!enabled) {
            return true;
        }
        String name = caller.certified() || trustStatedNames ? caller.nodeName() : null;
        for (AccessRule.CompiledRule rule : rules) {
            if (rule.grants(right) && rule.appliesTo(name, caller.address()) && rule.covers(key)) {
                return true;
            }
        }
        return false;
    }

    /** @throws StoreException PERMISSION_DENIED (-1100) when not allowed, UNAUTHENTICATED when the caller is unknown */
    public void check(Caller caller, Right right, String key) {
        if (!enabled) {
            return;
        }
        if (caller == null || caller.address() == null) {
            throw new StoreException(ErrorCode.UNAUTHENTICATED, "the caller's address is unknown");
        }
        if (!allows(caller, right, key)) {
            throw new StoreException(
                    ErrorCode.PERMISSION_DENIED,
                    caller + " has no " + right.name().toLowerCase() + " right"
                            + (key == null ? "" : " on '" + key + "'"));
        }
    }
}
