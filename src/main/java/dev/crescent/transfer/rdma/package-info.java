/**
 * The RDMA transport through FFM over rdma-core and the C shim: devices, memory regions, queue pairs, NIC choice
 * by topology, rail health. Its handshake rides on the TCP transfer server. Imports {@code transfer},
 * {@code transfer.tcp}, {@code transfer.topology} and {@code common}.
 */
package dev.crescent.transfer.rdma;
