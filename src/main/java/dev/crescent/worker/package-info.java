/**
 * A segment in the pool: its memory ({@link dev.crescent.worker.WorkerSegment}), its transfer server, its
 * membership at the master and its descriptor in the metadata store, all run by
 * {@link dev.crescent.worker.SegmentHost} for workers and contributing clients alike. Imports {@code protocol},
 * {@code transfer}, {@code meta} and {@code common}.
 */
package dev.crescent.worker;
