/**
 * Same-JVM transport: one memory copy. Imports {@code transfer} and {@code common}.
 */
package dev.crescent.transfer.local;
