package dev.crescent.transfer.rdma;

import java.lang.foreign.MemorySegment;

/**
 * One opened RDMA device (a rail): its verbs context, protection domain and completion queue, the state of the
 * port in use, and the thread that polls its completions.
 */
final class RdmaDevice implements AutoCloseable {
    final String name;
    final RdmaShim shim;
    final MemorySegment context;
    final MemorySegment protectionDomain;
    final MemorySegment completionQueue;
    final RdmaShim.Port port;
    final int portNumber;
    final long maxRegionBytes;
    final CompletionPoller poller;

    RdmaDevice(RdmaShim shim, String name, int portNumber, int gidIndex, int queueEntries) {
        this.shim = shim;
        this.name = name;
        this.portNumber = portNumber;
        this.context = shim.open(name);
        MemorySegment pd = null;
        MemorySegment cq = null;
        try {
            this.port = shim.queryPort(context, portNumber, gidIndex);
            if (!port.active()) {
                throw RdmaShim.unavailable(name + " port " + portNumber + " is not ACTIVE (state " + port.state()
                        + "): check the cable and the subnet manager");
            }
            this.maxRegionBytes = shim.maxRegionBytes(context);
            pd = shim.allocPd(context);
            cq = shim.createCq(context, queueEntries);
        } catch (RuntimeException e) {
            if (pd != null) {
                shim.deallocPd(pd);
            }
            shim.close(context);
            throw e;
        }
        this.protectionDomain = pd;
        this.completionQueue = cq;
        this.poller = new CompletionPoller(shim, name, cq);
    }

    @Override
    public void close() {
        poller.close();
        shim.destroyCq(completionQueue);
        shim.deallocPd(protectionDomain);
        shim.close(context);
    }
}
