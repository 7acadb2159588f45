/**
 * Wiring and lifecycle, on top of everything: builds settings records from the configuration and the domain
 * objects for the chosen role, starts and stops them in order (segment host, leader campaign, housekeeping,
 * RDMA, graceful exit). Nothing imports it.
 */
package dev.crescent.boot;
