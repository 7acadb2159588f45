package dev.crescent.master.access;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchedPrefix;
import dev.crescent.protocol.KeyResult;
import dev.crescent.transfer.TicketSigner;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The access whitelist in force: rules from configuration (read-only) plus rules added through the admin API.
 * API rules live in the metadata store ({@code acl/rules/<name>}) and are watched, so every node sharing the store
 * enforces the same list, and an edit takes effect at once everywhere.
 */
public final class AccessControl implements AutoCloseable {

    /** A rule as the admin API shows it: where it comes from decides whether it can be edited. */
    @RegisterForReflection
    public record Listed(AccessRule rule, String source) {}

    private static final Duration APPLY_TIMEOUT = Duration.ofSeconds(5);

    private final boolean enabled;
    private final boolean trustStatedNames;
    private final Map<String, AccessRule> configRules = new LinkedHashMap<>();
    private final ObjectMapper json;
    private final WatchedPrefix<AccessRule> stored;
    private final TicketSigner tickets;
    private volatile AccessPolicy policy;

    /**
     * @param trustStatedNames let rules match node names that are only stated (see {@link AccessPolicy})
     * @param tickets          signs (master) and verifies (worker) transfer tickets; null when access is off
     */
    public AccessControl(
            boolean enabled,
            boolean trustStatedNames,
            List<AccessRule> configRules,
            MetadataStore store,
            MetadataKeys keys,
            ObjectMapper json,
            TicketSigner tickets) {
        this.enabled = enabled;
        this.trustStatedNames = trustStatedNames;
        this.tickets = tickets;
        configRules.forEach(rule -> this.configRules.put(rule.name(), rule));
        this.json = json;
        this.policy = new AccessPolicy(enabled, configRules, trustStatedNames);
        this.stored = new WatchedPrefix<>(
                store, keys.accessRules(), value -> json.readValue(value, AccessRule.class), this::rebuild);
        rebuild();
    }

    public boolean enabled() {
        return enabled;
    }

    /** The transfer-ticket signer, or null when access control is off (no tickets are made or checked). */
    public TicketSigner tickets() {
        return tickets;
    }

    public AccessPolicy policy() {
        return policy;
    }

    /** @throws StoreException PERMISSION_DENIED / UNAUTHENTICATED when the call is not allowed */
    public void check(Caller caller, Right right, String key) {
        policy.check(caller, right, key);
    }

    /** As {@link #check(Caller, Right, String)}, working out the caller only when access control is on. */
    public void check(Supplier<Caller> caller, Right right, String key) {
        if (enabled) {
            policy.check(caller.get(), right, key);
        }
    }

    /**
     * Runs a batch for the keys {@code caller} may touch with {@code right}; the others answer PERMISSION_DENIED in
     * their place, so one forbidden key does not fail the batch.
     *
     * @param run receives the indexes (into {@code keys}) of the allowed keys and answers one result per index
     */
    public <T> List<KeyResult<T>> checkEach(
            Caller caller, Right right, List<String> keys, Function<List<Integer>, List<KeyResult<T>>> run) {
        List<KeyResult<T>> results = new ArrayList<>(keys.size());
        List<Integer> allowed = new ArrayList<>(keys.size());
        AccessPolicy current = policy;
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            KeyResult<T> denied = KeyResult.of(key, () -> {
                current.check(caller, right, key);
                return null;
            });
            results.add(denied.ok() ? null : denied);
            if (denied.ok()) {
                allowed.add(i);
            }
        }
        if (!allowed.isEmpty()) {
            List<KeyResult<T>> answered = run.apply(allowed);
            for (int j = 0; j < allowed.size(); j++) {
                results.set(allowed.get(j), answered.get(j));
            }
        }
        return results;
    }

    /** Every rule in force: configuration first, then the API's, each in name order. */
    public List<Listed> rules() {
        List<Listed> all = new ArrayList<>();
        configRules.values().forEach(rule -> all.add(new Listed(rule, "config")));
        stored.all().values().forEach(rule -> all.add(new Listed(rule, "api")));
        return all;
    }

    /** Adds or replaces an API rule. Configuration rules cannot be overridden here. */
    public void putRule(AccessRule rule) {
        if (configRules.containsKey(rule.name())) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "rule '" + rule.name() + "' comes from configuration and cannot be changed through the API");
        }
        try {
            // In force here before the caller hears back; other nodes follow through their watches.
            stored.write(rule.name(), json.writeValueAsBytes(rule), APPLY_TIMEOUT);
        } catch (JsonProcessingException e) {
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot encode rule '" + rule.name() + "'", e);
        }
    }

    /** @return whether an API rule of that name existed */
    public boolean deleteRule(String name) {
        if (configRules.containsKey(name)) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "rule '" + name + "' comes from configuration and cannot be deleted through the API");
        }
        return stored.delete(name, APPLY_TIMEOUT);
    }

    private void rebuild() {
        if (stored == null) {
            return; // still constructing: the constructor rebuilds once the listing is in
        }
        List<AccessRule> all = new ArrayList<>(configRules.values());
        stored.all().values().stream()
                .filter(r -> !configRules.containsKey(r.name()))
                .forEach(all::add);
        policy = new AccessPolicy(enabled, all, trustStatedNames);
    }

    @Override
    public void close() {
        stored.close();
    }
}
