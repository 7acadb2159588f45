/**
 * High availability over etcd: leader election, the op-log written by the leader and replayed by standbys,
 * snapshots and compaction. Imports {@code master}, {@code meta} and {@code common}, and below them the op-log's
 * protobuf form ({@code protocol.proto}) and the segment tier it records ({@code transfer}).
 */
package dev.crescent.master.ha;
