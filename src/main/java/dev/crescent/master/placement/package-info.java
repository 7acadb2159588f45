/**
 * Placement strategies (random, free-ratio-first, local-first). Imports {@code master} and {@code common}.
 */
package dev.crescent.master.placement;
