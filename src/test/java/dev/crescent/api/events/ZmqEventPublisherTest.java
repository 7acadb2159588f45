package dev.crescent.api.events;

import dev.crescent.master.EventJournal;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The publisher's start: an endpoint it cannot open stops start-up with the reason, not a silent missing stream. */
class ZmqEventPublisherTest {

    @Test
    void anEndpointThatCannotBeBoundFailsStartWithItsAddress() {
        try (ZContext context = new ZContext()) {
            ZMQ.Socket taken = context.createSocket(SocketType.PUB);
            int port = taken.bindToRandomPort("tcp://*");
            ZmqEventPublisher publisher = new ZmqEventPublisher(
                    new EventJournal(8, "s"), () -> true, "tcp://*:" + port, null, "", new VllmEventCodec("X", 0));
            IllegalStateException refused = assertThrows(IllegalStateException.class, publisher::start);
            assertTrue(refused.getMessage().contains("tcp://*:" + port), refused.getMessage());
            publisher.close();
        }
    }

    @Test
    void endpointsAreBoundOrConnectedAsVllmDecides() {
        assertTrue(ZmqEventPublisher.binds("tcp://*:5557"));
        assertTrue(ZmqEventPublisher.binds("ipc:///tmp/kv"));
        assertTrue(!ZmqEventPublisher.binds("tcp://router.example:5557"), "a host address is connected to");
    }
}
