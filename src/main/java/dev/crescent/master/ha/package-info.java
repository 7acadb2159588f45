/**
 * High availability over etcd: leader election, the op-log written by the leader and replayed by standbys,
 * snapshots and compaction. Imports {@code master}, {@code meta} and {@code common}.
 */
package dev.crescent.master.ha;
