package dev.crescent.it;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;

/** What a port answers a peer that speaks plain TCP: for listeners that must take TLS only. */
public final class PlainProbe {
    private PlainProbe() {}

    /** The bytes the probe sends once connected. */
    @FunctionalInterface
    public interface Opening {
        void writeTo(DataOutputStream out) throws IOException;
    }

    /**
     * Connects to {@code host:port} in plain TCP, sends {@code opening}, and returns the first byte answered: -1 when
     * the connection closed or failed without one (within 5 s).
     */
    public static int firstAnswer(String host, int port, Opening opening) throws IOException {
        try (Socket plain = new Socket(host, port)) {
            plain.setSoTimeout(5_000);
            // One write for the whole opening; a listener that drops the peer on its first bytes may still close
            // before it all arrives (broken pipe, reset): that too is a connection closed without an answer.
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(plain.getOutputStream()));
            try {
                opening.writeTo(out);
                out.flush();
                return plain.getInputStream().read();
            } catch (IOException e) {
                return -1;
            }
        }
    }
}
