/**
 * The access whitelist (node names, CIDRs, key prefixes, rights), kept in the metadata store, and the signer of
 * transfer tickets. Imports {@code meta}, {@code transfer} and {@code common}.
 */
package dev.crescent.master.access;
