package dev.crescent.boot;

import dev.crescent.api.RoleGuard;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only once this node's role can serve: for a worker, once its segment is mounted at the master. */
@Readiness
@Singleton
public class RoleReadiness implements HealthCheck {
    private final RoleGuard role;
    private final WorkerNode worker;

    public RoleReadiness(RoleGuard role, WorkerNode worker) {
        this.role = role;
        this.worker = worker;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("crescent")
                .status(worker.workerReady())
                .withData("role", role.role().name().toLowerCase())
                .withData("segmentMounted", worker.segment() != null && worker.workerReady())
                .build();
    }
}
