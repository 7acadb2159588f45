/**
 * The in-process metadata store: the standalone default, with the same semantics as etcd. Imports {@code meta}
 * and {@code common}.
 */
package dev.crescent.meta.embedded;
