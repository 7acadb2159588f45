package dev.crescent.transfer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * A segment served over TCP by a target in another JVM that enforces tickets, the master's signer for it, and an
 * engine to reach it: what the ticket tests share.
 */
final class TicketedTarget implements AutoCloseable {
    final TargetProcess target;
    final TransferEngine engine;
    /** The target's endpoint with only its TCP path. */
    final String tcp;
    /** Signs as the master does, with the target's secret. */
    final TicketSigner master;

    private TicketedTarget(TargetProcess target, String secret) {
        this.target = target;
        this.engine = TransferEngineTest.newEngine(TransferEngineTest.fastSettings());
        this.tcp = target.endpointFor("tcp");
        this.master = new TicketSigner(secret.getBytes(StandardCharsets.UTF_8));
    }

    static TicketedTarget start(String segment, long bytes, String secret) throws IOException {
        return new TicketedTarget(TargetProcess.start(segment, bytes, secret), secret);
    }

    String segment() {
        return target.segment;
    }

    TransferRequest request(TransferOp op, byte[] buffer, long offset, TransferTicket ticket) {
        return new TransferRequest(op, MemorySegment.ofArray(buffer), target.segment, tcp, offset, ticket);
    }

    @Override
    public void close() throws IOException {
        engine.close();
        target.close();
    }
}
