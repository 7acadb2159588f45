/**
 * What clients and the master exchange, below both: {@link dev.crescent.protocol.MasterClient}, the records that
 * travel (replica descriptors and configs, locations, per-key results, heartbeat replies), the protobuf messages
 * ({@code protocol.proto}, generated), their mapping, gRPC error trailers and the wire protocol's frame layout.
 * Imports {@code transfer} and {@code common}.
 */
package dev.crescent.protocol;
