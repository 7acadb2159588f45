package dev.crescent.api.grpc;

import dev.crescent.common.ErrorCode;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.proto.Empty;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.ObjectServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile callers on the gRPC gateways, bounded in rounds and time: random bytes as the request messages of every
 * method that cannot remove other tests' objects (unary, server-streaming and client-streaming alike), and methods
 * that do not exist. Every call either succeeds or fails with a status carrying a known {@code crescent-code}; none
 * answers UNKNOWN, none hangs, and the server answers a good call afterwards.
 */
@QuarkusTest
class GrpcFuzzTest {
    private static final int ROUNDS = 300;
    private static final long DEADLINE_SECONDS = 10;

    /** Raw bytes in and out, so a request can be anything. */
    private static final MethodDescriptor.Marshaller<byte[]> RAW = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    };

    private static final List<MethodDescriptor<?, ?>> TARGETS = List.of(
            MasterServiceGrpc.getExistMethod(),
            MasterServiceGrpc.getGetReplicaListMethod(),
            MasterServiceGrpc.getBatchExistMethod(),
            MasterServiceGrpc.getBatchGetReplicaListMethod(),
            MasterServiceGrpc.getPutStartMethod(),
            MasterServiceGrpc.getHeartbeatMethod(),
            MasterServiceGrpc.getServiceReadyMethod(),
            ObjectServiceGrpc.getExistMethod(),
            ObjectServiceGrpc.getBatchExistMethod(),
            ObjectServiceGrpc.getBatchGetMethod(),
            ObjectServiceGrpc.getGetMethod(),
            ObjectServiceGrpc.getPutMethod(),
            ObjectServiceGrpc.getBatchPutMethod());

    @TestHTTPResource("/")
    URL service;

    private ManagedChannel channel;

    @BeforeEach
    void open() {
        channel = ManagedChannelBuilder.forAddress(service.getHost(), service.getPort())
                .usePlaintext()
                .build();
    }

    @AfterEach
    void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }

    @Test
    void randomRequestsGetCodedAnswersAndTheServerKeepsServing() throws Exception {
        Random random = new Random(20261201);
        int coded = 0;
        for (int round = 0; round < ROUNDS; round++) {
            MethodDescriptor<?, ?> target = TARGETS.get(random.nextInt(TARGETS.size()));
            MethodDescriptor<byte[], byte[]> raw = raw(target.getFullMethodName(), target.getType());
            List<byte[]> messages = new ArrayList<>();
            int count = target.getType().clientSendsOneMessage() ? 1 : random.nextInt(4);
            for (int i = 0; i < count; i++) {
                byte[] message = new byte[random.nextInt(64)];
                random.nextBytes(message);
                messages.add(message);
            }
            StatusRuntimeException failure = call(raw, messages);
            if (failure != null) {
                assertCoded(target.getFullMethodName(), failure);
                coded++;
            }
        }
        System.out.println("gRPC fuzz: " + ROUNDS + " calls, " + coded + " refused with a crescent-code");
        assertTrue(coded > ROUNDS / 4, "most random requests are refused (else the fuzzer sends valid ones only)");
        // A good call is served afterwards.
        byte[] ready = ClientCalls.blockingUnaryCall(
                channel,
                raw(MasterServiceGrpc.getServiceReadyMethod().getFullMethodName(), MethodDescriptor.MethodType.UNARY),
                CallOptions.DEFAULT.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS),
                Empty.getDefaultInstance().toByteArray());
        assertNotNull(ready);
    }

    @Test
    void aClientStreamedPutWithNoChunksOrGarbageChunksIsAnswered() {
        MethodDescriptor<byte[], byte[]> put =
                raw(ObjectServiceGrpc.getPutMethod().getFullMethodName(), MethodDescriptor.MethodType.CLIENT_STREAMING);
        StatusRuntimeException none = call(put, List.of());
        assertNotNull(none, "a put without chunks is refused");
        assertCoded("Put", none);
        StatusRuntimeException garbage = call(put, List.of(new byte[] {(byte) 0xff, 0x01, 0x02}));
        assertNotNull(garbage, "a put of garbage is refused");
        assertCoded("Put", garbage);
    }

    @Test
    void aMethodThatDoesNotExistIsRefusedWithACode() {
        StatusRuntimeException failure = call(
                raw("crescent.v1.MasterService/NoSuchMethod", MethodDescriptor.MethodType.UNARY),
                List.of(new byte[] {1, 2, 3}));
        assertNotNull(failure);
        assertEquals(Status.Code.UNIMPLEMENTED, failure.getStatus().getCode());
    }

    /** One call of any shape; @return its failure, or null when it succeeded. Never waits past the deadline. */
    private StatusRuntimeException call(MethodDescriptor<byte[], byte[]> method, List<byte[]> messages) {
        CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
        try {
            switch (method.getType()) {
                case UNARY -> ClientCalls.blockingUnaryCall(channel, method, options, messages.getFirst());
                case SERVER_STREAMING -> {
                    Iterator<byte[]> answers =
                            ClientCalls.blockingServerStreamingCall(channel, method, options, messages.getFirst());
                    answers.forEachRemaining(answer -> {});
                }
                default -> {
                    CompletableFuture<Void> done = new CompletableFuture<>();
                    StreamObserver<byte[]> requests = ClientCalls.asyncClientStreamingCall(
                            channel.newCall(method, options), new StreamObserver<>() {
                                @Override
                                public void onNext(byte[] value) {}

                                @Override
                                public void onError(Throwable t) {
                                    done.completeExceptionally(t);
                                }

                                @Override
                                public void onCompleted() {
                                    done.complete(null);
                                }
                            });
                    messages.forEach(requests::onNext);
                    requests.onCompleted();
                    try {
                        done.get(DEADLINE_SECONDS + 5, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException e) {
                        throw (StatusRuntimeException) e.getCause();
                    } catch (Exception e) {
                        throw new AssertionError(method.getFullMethodName() + " did not answer", e);
                    }
                }
            }
            return null;
        } catch (StatusRuntimeException e) {
            return e;
        }
    }

    private static void assertCoded(String method, StatusRuntimeException failure) {
        // A deadline the client met waiting has no crescent-code: only the server's own answers pass below.
        assertTrue(failure.getStatus().getCode() != Status.Code.UNKNOWN, method + " answered " + failure.getStatus());
        String code =
                failure.getTrailers() == null ? null : failure.getTrailers().get(GrpcErrors.CODE_KEY);
        assertNotNull(code, method + " failed with no crescent-code: " + failure.getStatus());
        ErrorCode known = ErrorCode.fromNumber(Integer.parseInt(code));
        assertTrue(known != null && known != ErrorCode.OK, method + ": code " + code);
    }

    private static MethodDescriptor<byte[], byte[]> raw(String fullName, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder(RAW, RAW)
                .setFullMethodName(fullName)
                .setType(type)
                .build();
    }
}
