package dev.crescent.config;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.ha.MasterLeadership;
import jakarta.inject.Singleton;

/**
 * All adapters are registered in every role (Quarkus decides routes at build time); this is the runtime check
 * that a request reaches a role that serves it.
 */
@Singleton
public class RoleGuard {
    private final Role role;
    private final MasterLeadership leadership;

    public RoleGuard(CrescentConfig config, MasterLeadership leadership) {
        this.role = config.role();
        this.leadership = leadership;
    }

    public Role role() {
        return role;
    }

    /** Master operations need the master role and, with several masters, the leader (else NOT_LEADER). */
    public void requireMaster() {
        if (!role.runsMaster()) {
            throw new StoreException(ErrorCode.RPC_FAIL,
                    "this node runs role " + role.name().toLowerCase() + "; master operations go to the master");
        }
        leadership.requireLeader();
    }
}
