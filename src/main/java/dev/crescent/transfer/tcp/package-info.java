/**
 * The TCP transport and transfer server: handshake, framed pipelined slices, direct connections, retries and the
 * peer blacklist. It offers a hook ({@code RdmaConnectHandler}) for the RDMA handshake rather than importing
 * {@code rdma}. Imports {@code transfer} and {@code common}.
 */
package dev.crescent.transfer.tcp;
