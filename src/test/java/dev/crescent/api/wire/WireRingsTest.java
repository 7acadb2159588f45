package dev.crescent.api.wire;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Collections;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rings are offered only to connections from this host: a host id is a claim anyone can make. */
class WireRingsTest {

    @Test
    void loopbackAndThisHostsOwnAddressesAreThisHost() throws SocketException, UnknownHostException {
        assertTrue(WireRings.onThisHost(InetAddress.getByName("127.0.0.1")));
        assertTrue(WireRings.onThisHost(InetAddress.getByName("::1")));
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress own : Collections.list(nic.getInetAddresses())) {
                assertTrue(WireRings.onThisHost(own), own.toString());
            }
        }
    }

    @Test
    void anAddressOfNoInterfaceHereIsAnotherHost() throws UnknownHostException {
        // TEST-NET-1 and -3 (RFC 5737): documentation ranges no interface of a test machine holds.
        assertFalse(WireRings.onThisHost(InetAddress.getByName("192.0.2.10")));
        assertFalse(WireRings.onThisHost(InetAddress.getByName("203.0.113.7")));
    }
}
