/**
 * The master: object index, two-phase put, leases, eviction, placement, client liveness, the op-log SPI. SPIs
 * (placement, eviction, op-log, leadership) live here, their implementations one level down. Imports
 * {@code protocol}, {@code alloc}, {@code meta}, {@code transfer} and {@code common}; never {@code config}.
 */
package dev.crescent.master;
