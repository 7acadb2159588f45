package dev.crescent.master.access;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * One whitelist entry: callers it applies to, the key namespaces it covers, and the rights it grants there.
 *
 * @param name     unique name (the admin API edits rules by name)
 * @param nodes    node names it applies to ({@code *} = any); empty = any node name. With TLS a name is the subject
 *                 CN of the caller's client certificate; a stated name counts only where stated names are trusted
 * @param cidrs    networks the caller's address must be in; empty = any address. Both lists given: both must match
 * @param prefixes key prefixes it covers; empty = every key
 * @param rights   what it grants there
 */
@RegisterForReflection
public record AccessRule(
        String name, List<String> nodes, List<String> cidrs, List<String> prefixes, Set<Right> rights) {

    public AccessRule {
        if (name == null || name.isBlank() || !name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "rule name must be 1-64 letters, digits, '.', '_' or '-', was '" + name + "'");
        }
        nodes = nodes == null ? List.of() : List.copyOf(nodes);
        cidrs = cidrs == null ? List.of() : List.copyOf(cidrs);
        prefixes = prefixes == null ? List.of() : List.copyOf(prefixes);
        if (rights == null || rights.isEmpty()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "rule '" + name + "' grants no rights");
        }
        rights = Set.copyOf(rights);
        cidrs.forEach(Cidr::parse);
    }

    /** A rule ready for checks: CIDRs parsed once. */
    CompiledRule compile() {
        return new CompiledRule(this, cidrs.stream().map(Cidr::parse).toList());
    }

    record CompiledRule(AccessRule rule, List<Cidr> networks) {

        /** @param nodeName the caller's name as far as the policy believes it (null: none) */
        boolean appliesTo(String nodeName, InetAddress address) {
            AccessRule r = rule;
            boolean nodeOk =
                    r.nodes.isEmpty() || r.nodes.contains("*") || (nodeName != null && r.nodes.contains(nodeName));
            boolean addressOk = networks.isEmpty() || networks.stream().anyMatch(n -> n.contains(address));
            return nodeOk && addressOk;
        }

        boolean covers(String key) {
            return key == null
                    ? rule.prefixes.isEmpty()
                    : rule.prefixes.isEmpty() || rule.prefixes.stream().anyMatch(key::startsWith);
        }

        boolean grants(Right wanted) {
            return rule.rights.stream().anyMatch(r -> r.grants(wanted));
        }
    }
}
