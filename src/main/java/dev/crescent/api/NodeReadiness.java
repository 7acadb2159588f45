package dev.crescent.api;

/** Whether this node's worker side can serve: the adapters report it, the lifecycle that runs the worker knows it. */
public interface NodeReadiness {

    /** True when this node runs no worker, or its segment is mounted at the master. */
    boolean workerReady();
}
