/**
 * Thin adapters: REST and gRPC gateways, the master wire protocol server, the KV-event publisher, metrics and the
 * role check. Each call reads: validate, check access, delegate, map. Imports everything below it (client, master,
 * worker, protocol, transfer, config, common), never {@code boot}.
 */
package dev.crescent.api;
