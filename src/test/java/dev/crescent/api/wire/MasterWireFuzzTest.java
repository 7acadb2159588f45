package dev.crescent.api.wire;

import dev.crescent.common.ErrorCode;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.PutStartRequest;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile peers on the master wire port, bounded in rounds and time: random hellos, random method ids, random
 * protobuf bodies, frames cut short. Each connection either answers well-formed frames with Crescent codes or is
 * closed; none may crash the listener, and a good caller is served afterwards.
 */
@QuarkusTest
class MasterWireFuzzTest {
    private static final int ROUNDS = 300;
    private static final io.grpc.MethodDescriptor<?, ?>[] READ_ONLY = {
        MasterServiceGrpc.getExistMethod(),
        MasterServiceGrpc.getGetReplicaListMethod(),
        MasterServiceGrpc.getBatchExistMethod(),
        MasterServiceGrpc.getBatchGetReplicaListMethod(),
        MasterServiceGrpc.getHeartbeatMethod()
    };

    @TestHTTPResource("/")
    URL service;

    @Test
    void randomFramesGetCodedAnswersOrAClosedConnectionAndTheListenerLives() throws IOException {
        Random random = new Random(20261201);
        int port = given().get(MasterWire.PATH).then().extract().jsonPath().getInt("port");
        int answered = 0;
        for (int round = 0; round < ROUNDS; round++) {
            try (Socket socket = new Socket(service.getHost(), port)) {
                socket.setSoTimeout(5_000);
                DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                DataInputStream in = new DataInputStream(socket.getInputStream());
                byte[] hello = new byte[random.nextInt(16)];
                random.nextBytes(hello);
                out.writeInt(hello.length);
                out.write(hello);
                byte[] body = new byte[random.nextInt(64)];
                random.nextBytes(body);
                // Unknown ids, or calls that change nothing (the service is shared with the other tests).
                int known = MasterWire.methods().size();
                int method = random.nextBoolean()
                        ? known + random.nextInt(256 - known)
                        : MasterWire.id(READ_ONLY[random.nextInt(READ_ONLY.length)]);
                boolean cutShort = random.nextInt(5) == 0;
                out.writeInt(MasterWire.REQUEST_HEADER + body.length + (cutShort ? 1 + random.nextInt(100) : 0));
                out.writeByte(method);
                out.writeInt(round);
                out.write(body);
                out.flush();
                if (cutShort) {
                    socket.shutdownOutput(); // the frame never ends: the server must close or just wait, not crash
                    continue;
                }
                assertCoded(in, round);
                answered++;
            } catch (SocketException closed) {
                // Closing a connection that broke the protocol is an allowed answer.
            }
        }
        assertTrue(answered > ROUNDS / 2, "most well-framed calls are answered: " + answered);
        try (Socket good = new Socket(service.getHost(), port)) {
            good.setSoTimeout(5_000);
            DataOutputStream out = new DataOutputStream(good.getOutputStream());
            byte[] name = "after-fuzz".getBytes(StandardCharsets.UTF_8);
            out.writeInt(name.length);
            out.write(name);
            byte[] request =
                    KeyRequest.newBuilder().setKey("fuzz/absent").build().toByteArray();
            out.writeInt(MasterWire.REQUEST_HEADER + request.length);
            out.writeByte(MasterWire.id(MasterServiceGrpc.getExistMethod()));
            out.writeInt(1);
            out.write(request);
            out.flush();
            DataInputStream in = new DataInputStream(good.getInputStream());
            int length = in.readInt();
            assertEquals(1, in.readInt());
            assertEquals(0, in.readInt(), "a good caller is served after the fuzzing");
            in.readFully(new byte[length - MasterWire.RESPONSE_HEADER]);
        }
    }

    /**
     * Put frames past the direct listener's read buffer, whose value is read from the socket straight into place,
     * with bytes of the fields before the value mangled: each is answered with a Crescent code (never an internal
     * error) and the connection reads on from the next frame's start, or the connection is closed. Nothing else.
     */
    @Test
    void largePutFramesWithMangledHeadsGetCodedAnswersOrAClosedConnection() throws IOException {
        Random random = new Random(20261207);
        int port = given().get(MasterWire.PATH).then().extract().jsonPath().getInt("direct-port");
        int put = MasterWire.id(MasterServiceGrpc.getPutStartMethod());
        int exist = MasterWire.id(MasterServiceGrpc.getExistMethod());
        int followed = 0;
        for (int round = 0; round < 30; round++) {
            byte[] value = new byte[300_000 + random.nextInt(100_000)];
            random.nextBytes(value);
            byte[] head = PutStartRequest.newBuilder()
                    .setClientId("fuzz")
                    .setKey("fuzz/large")
                    .setSize(value.length)
                    .setUpsert(true)
                    .build()
                    .toByteArray();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                head[random.nextInt(head.length)] = (byte) random.nextInt(256);
            }
            byte[] valueField = MasterWireProtocolTest.valueField(value);
            try (Socket socket = new Socket(service.getHost(), port)) {
                socket.setSoTimeout(5_000);
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
                assertEquals(MasterWire.DIRECT_SERVED, in.read());
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
                byte[] name = "fuzz".getBytes(StandardCharsets.UTF_8);
                out.writeInt(name.length);
                out.write(name);
                out.writeInt(MasterWire.REQUEST_HEADER + head.length + valueField.length);
                out.writeByte(put);
                out.writeInt(1);
                out.write(head);
                out.write(valueField);
                byte[] probe =
                        KeyRequest.newBuilder().setKey("fuzz/absent").build().toByteArray();
                out.writeInt(MasterWire.REQUEST_HEADER + probe.length);
                out.writeByte(exist);
                out.writeInt(2);
                out.write(probe);
                out.flush();
                assertCoded(in, 1);
                assertCoded(in, 2);
                followed++;
            } catch (SocketException closed) {
                // Closing a connection whose frame broke the protocol is an allowed answer.
            }
        }
        assertTrue(followed > 15, "most mangled puts are answered and their connection reads on: " + followed);
    }

    /** Reads an answer to call {@code callId}: success or a Crescent code other than an internal error. */
    private static void assertCoded(DataInputStream in, int callId) throws IOException {
        int length = in.readInt();
        assertTrue(length >= MasterWire.RESPONSE_HEADER && length < 1 << 20, "answer length " + length);
        assertEquals(callId, in.readInt(), "the answer pairs with its call");
        int code = in.readInt();
        in.readFully(new byte[length - MasterWire.RESPONSE_HEADER]);
        assertTrue(
                code == 0 || (ErrorCode.fromNumber(code).number() == code && code != ErrorCode.INTERNAL_ERROR.number()),
                "a Crescent code, and no internal error for hostile input: " + code);
    }
}
