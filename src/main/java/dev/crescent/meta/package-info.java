/**
 * The metadata store SPI (keys, leases, compare-and-swap, prefix watches) and the key layout of a cluster.
 * Implementations live one level down. Imports only {@code common}.
 */
package dev.crescent.meta;
