/**
 * gRPC services (MasterService, ObjectService), wrapped by {@code GrpcCalls}. Imports {@code api} and below.
 */
package dev.crescent.api.grpc;
