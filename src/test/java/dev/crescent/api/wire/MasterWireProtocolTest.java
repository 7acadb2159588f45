package dev.crescent.api.wire;

import dev.crescent.api.grpc.proto.ExistResponse;
import dev.crescent.api.grpc.proto.KeyRequest;
import dev.crescent.api.grpc.proto.MasterServiceGrpc;
import dev.crescent.common.ErrorCode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The master wire protocol byte by byte on a raw socket: upgrade, frames, and what a malformed peer gets. */
@QuarkusTest
class MasterWireProtocolTest {
    @TestHTTPResource("/")
    URL service;

    /** One answer frame. */
    private record Answer(int callId, int code, byte[] payload) {
        String message() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    @Test
    void anUpgradedConnectionCarriesFramedCallsAndSurvivesBadRequests() throws IOException {
        try (Socket socket = upgraded()) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            int exist = MasterWire.id(MasterServiceGrpc.getExistMethod());

            send(out, exist, 7, KeyRequest.newBuilder().setKey("wire/absent").build().toByteArray());
            Answer answer = read(in);
            assertEquals(7, answer.callId());
            assertEquals(0, answer.code());
            assertFalse(ExistResponse.parseFrom(answer.payload()).getExists());

            send(out, 250, 8, new byte[0]);
            answer = read(in);
            assertEquals(8, answer.callId());
            assertEquals(ErrorCode.INVALID_PARAMS.number(), answer.code());
            assertTrue(answer.message().contains("unknown master wire method"), answer.message());

            send(out, exist, 9, new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
            answer = read(in);
            assertEquals(ErrorCode.INVALID_PARAMS.number(), answer.code(), answer.message());

            send(out, exist, 10, KeyRequest.newBuilder().setKey("").build().toByteArray());
            answer = read(in);
            assertEquals(ErrorCode.INVALID_KEY.number(), answer.code(), "the master's own codes travel unchanged");

            send(out, exist, 11, KeyRequest.newBuilder().setKey("wire/absent").build().toByteArray());
            assertEquals(0, read(in).code(), "the connection still serves after refused requests");
        }
    }

    @Test
    void aFrameThatCannotBeReadClosesOnlyItsConnection() throws IOException {
        try (Socket bad = upgraded(); Socket good = upgraded()) {
            new DataOutputStream(bad.getOutputStream()).writeInt(MasterWire.MAX_FRAME + 1);
            assertEquals(-1, bad.getInputStream().read(), "an oversized frame closes the connection");

            DataOutputStream out = new DataOutputStream(good.getOutputStream());
            send(out, MasterWire.id(MasterServiceGrpc.getExistMethod()), 1,
                    KeyRequest.newBuilder().setKey("wire/absent").build().toByteArray());
            assertEquals(0, read(new DataInputStream(good.getInputStream())).code());
        }
    }

    @Test
    void aPlainRequestIsToldToUpgrade() {
        given().get(MasterWire.PATH).then().statusCode(426)
                .header("Upgrade", MasterWire.UPGRADE)
                .body("code", equalTo(ErrorCode.INVALID_PARAMS.number()))
                .body("error", equalTo("INVALID_PARAMS"));
    }

    private Socket upgraded() throws IOException {
        Socket socket = new Socket(service.getHost(), service.getPort());
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("GET " + MasterWire.PATH + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                + "Upgrade: " + MasterWire.UPGRADE + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        String head = head(socket.getInputStream());
        assertTrue(head.startsWith("HTTP/1.1 101"), head);
        return socket;
    }

    /** The HTTP answer up to its blank line, read byte by byte so no frame byte is consumed. */
    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    private static void send(DataOutputStream out, int method, int callId, byte[] body) throws IOException {
        out.writeInt(MasterWire.REQUEST_HEADER + body.length);
        out.writeByte(method);
        out.writeInt(callId);
        out.write(body);
        out.flush();
    }

    private static Answer read(DataInputStream in) throws IOException {
        int length = in.readInt();
        int callId = in.readInt();
        int code = in.readInt();
        byte[] payload = new byte[length - MasterWire.RESPONSE_HEADER];
        in.readFully(payload);
        return new Answer(callId, code, payload);
    }
}
