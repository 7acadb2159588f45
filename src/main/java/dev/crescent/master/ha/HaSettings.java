package dev.crescent.master.ha;

import java.time.Duration;

/**
 * How a master takes part in leader election and the op-log.
 *
 * @param elects        whether this master is one of several (over etcd) and must win the election to serve
 * @param snapshotEvery op-log entries between snapshots
 */
public record HaSettings(boolean elects, String cluster, Duration leaderTtl, long snapshotEvery) {}
