/**
 * The vocabulary every package shares: error codes and {@link dev.crescent.common.StoreException}, access rights,
 * key rules, node names, daemon threads, the bounded idle-connection pool, TLS over blocking sockets. Imports nothing
 * of Crescent.
 */
package dev.crescent.common;
