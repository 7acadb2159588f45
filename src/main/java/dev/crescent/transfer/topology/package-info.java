/**
 * Host topology read from sysfs: NUMA nodes, NICs, RDMA devices, GPUs and the NIC priority matrix. Imports only
 * {@code common}.
 */
package dev.crescent.transfer.topology;
