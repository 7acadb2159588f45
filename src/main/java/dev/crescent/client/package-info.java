/**
 * The Java client: {@link dev.crescent.client.CrescentClient} (public API), {@link dev.crescent.client.StoreClient}
 * (the data path, also behind the gateways), the remote master client over the wire protocol or gRPC with its
 * failover guard, and the choice of transports. Imports {@code worker}, {@code protocol}, {@code transfer},
 * {@code meta} and {@code common}; no framework.
 */
package dev.crescent.client;
