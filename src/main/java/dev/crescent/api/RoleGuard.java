package dev.crescent.api;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
import dev.crescent.config.Role;
import jakarta.inject.Singleton;

/**
 * All adapters are registered in every role (Quarkus decides routes at build time); this is the runtime check
 * that a request reaches a role that serves it. Whether a master leads is the master's own check.
 */
@Singleton
public class RoleGuard {
    private final Role role;

    public RoleGuard(CrescentConfig config) {
        this.role = config.role();
    }

    public Role role() {
        return role;
    }

    /** Master operations need a role that runs the master. */
    public void requireMaster() {
        if (!role.runsMaster()) {
            throw new StoreException(
                    ErrorCode.RPC_FAIL,
                    "this node runs role " + role.name().toLowerCase() + "; master operations go to the master");
        }
    }
}
