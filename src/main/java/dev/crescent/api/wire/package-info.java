/**
 * The master wire protocol server: MasterService calls framed on plain TCP, run through the gRPC adapter. Imports
 * {@code api}, {@code api.grpc} and below.
 */
package dev.crescent.api.wire;
