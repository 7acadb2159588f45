/**
 * Eviction policies (LRU, FIFO, LFU). Imports {@code master}.
 */
package dev.crescent.master.eviction;
