/**
 * Same-host transport: maps a worker's shared-memory segment file. Imports {@code transfer} and {@code common}.
 */
package dev.crescent.transfer.shm;
