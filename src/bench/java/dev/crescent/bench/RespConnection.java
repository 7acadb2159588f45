package dev.crescent.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The few Redis commands the store benchmark compares against (SET, GET, MGET, EXISTS), spoken in RESP over one
 * socket with reused buffers, so the Redis side is driven as lean as the Crescent side. (A variant on a socket
 * channel with direct buffers, no copy in Java, was measured no faster against Redis: 1 MiB 2.25/2.71 GB/s put/get
 * against 2.45/3.09 for this one, 4 MiB 2.65/2.62 against 2.66/2.88, in one run.)
 */
final class RespConnection implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RespConnection(String host, int port) throws IOException {
        socket = new Socket(host, port);
        socket.setTcpNoDelay(true);
        in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
        out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    }

    void set(String key, byte[] value) throws IOException {
        header(3);
        bulk("SET");
        bulk(key);
        bulk(value, value.length);
        out.flush();
        expect('+');
        line();
    }

    /** Reads the value into {@code into}; @return its length, or -1 when the key is missing */
    int get(String key, byte[] into) throws IOException {
        header(2);
        bulk("GET");
        bulk(key);
        out.flush();
        return readBulk(into);
    }

    /** @return how many of the keys exist */
    long exists(List<String> keys) throws IOException {
        command("EXISTS", keys);
        expect(':');
        return Long.parseLong(line());
    }

    /** Reads every value into its buffer; @return how many keys were found */
    int mget(List<String> keys, List<byte[]> into) throws IOException {
        command("MGET", keys);
        expect('*');
        int count = Integer.parseInt(line());
        int found = 0;
        for (int i = 0; i < count; i++) {
            found += readBulk(into.get(i)) >= 0 ? 1 : 0;
        }
        return found;
    }

    /** Sends a command whose arguments are keys. */
    private void command(String name, List<String> keys) throws IOException {
        header(keys.size() + 1);
        bulk(name);
        for (String key : keys) {
            bulk(key);
        }
        out.flush();
    }

    private int readBulk(byte[] into) throws IOException {
        expect('$');
        int length = Integer.parseInt(line());
        if (length < 0) {
            return -1;
        }
        if (length > into.length) {
            throw new IOException("value of " + length + " bytes does not fit a " + into.length + "-byte buffer");
        }
        for (int read = 0; read < length; ) {
            int n = in.read(into, read, length - read);
            if (n < 0) {
                throw new EOFException();
            }
            read += n;
        }
        line();
        return length;
    }

    private void header(int parts) throws IOException {
        out.write(('*' + Integer.toString(parts) + "\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    private void bulk(String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        bulk(bytes, bytes.length);
    }

    private void bulk(byte[] bytes, int length) throws IOException {
        out.write(('$' + Integer.toString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes, 0, length);
        out.write('\r');
        out.write('\n');
    }

    private void expect(char type) throws IOException {
        int b = in.read();
        if (b != type) {
            throw new IOException("Redis answered '" + (char) b + line() + "' where '" + type + "' was expected");
        }
    }

    private String line() throws IOException {
        StringBuilder text = new StringBuilder();
        for (int b = in.read(); b != '\r'; b = in.read()) {
            if (b < 0) {
                throw new EOFException();
            }
            text.append((char) b);
        }
        in.read(); // '\n'
        return text.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
