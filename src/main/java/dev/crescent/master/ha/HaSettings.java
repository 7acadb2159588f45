package dev.crescent.master.ha;

import java.time.Duration;

/**
 * How a master takes part in leader election and the op-log.
 *
 * @param elects        whether this master is one of several (over etcd) and must win the election to serve
 * @param snapshotEvery op-log entries between snapshots
 * @param standbyAcks   whether a change is durable once every standby holds it (else: once etcd has it)
 * @param replicationPort where a standby takes the leader's op-log batches (0: a free port)
 * @param replication   how the replication port is served and reached: over TLS when the control plane is
 */
public record HaSettings(
        boolean elects,
        String cluster,
        Duration leaderTtl,
        long snapshotEvery,
        boolean standbyAcks,
        int replicationPort,
        ReplicationSockets replication) {}
