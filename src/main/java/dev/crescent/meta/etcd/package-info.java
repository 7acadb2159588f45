/**
 * The metadata store over etcd (jetcd). Imports {@code meta} and {@code common}.
 */
package dev.crescent.meta.etcd;
