package dev.crescent.api.access;

import com.google.protobuf.ByteString;
import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.client.RemoteMasterClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.Master;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.ProtoMapping;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.EventBatch;
import dev.crescent.protocol.proto.GetReplicaListRequest;
import dev.crescent.protocol.proto.HeartbeatRequest;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.ObjectEventsGrpc;
import dev.crescent.protocol.proto.ObjectService;
import dev.crescent.protocol.proto.PutChunk;
import dev.crescent.protocol.proto.PutEndRequest;
import dev.crescent.protocol.proto.PutHeader;
import dev.crescent.protocol.proto.PutStartRequest;
import dev.crescent.protocol.proto.RemoveAllRequest;
import dev.crescent.protocol.proto.WatchEventsRequest;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransport;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.mutiny.Multi;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.MemorySegment;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whitelist enforced on REST and gRPC, edited through the admin API, and carried to the data plane. */
@QuarkusTest
@TestProfile(AccessOnProfile.class)
class AccessControlTest {
    private static final String OCTETS = "application/octet-stream";
    private static final String NODE = "X-Crescent-Node";

    /** The service's master: its figures, and a reader's lease handed back. */
    @Inject
    Master master;

    @GrpcClient("master")
    MasterServiceGrpc.MasterServiceBlockingStub anonymous;

    @GrpcClient("objects")
    ObjectService objects;

    @TestHTTPResource("/")
    URL service;

    @GrpcClient("events")
    ObjectEventsGrpc.ObjectEventsBlockingStub events;

    private MasterServiceGrpc.MasterServiceBlockingStub as(String node) {
        Metadata headers = new Metadata();
        headers.put(GrpcErrors.NODE_KEY, node);
        return anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    @Test
    void restCallsNeedARuleForCallerKeyAndRight() {
        byte[] value = new byte[5000];
        new Random(1).nextBytes(value);
        given().contentType(OCTETS)
                .body(value)
                .put("/v1/objects/public/doc")
                .then()
                .statusCode(403)
                .body("code", equalTo(-1100))
                .body("error", equalTo("PERMISSION_DENIED"));
        given().header(NODE, "writer")
                .contentType(OCTETS)
                .body(value)
                .put("/v1/objects/public/doc")
                .then()
                .statusCode(201);
        assertArrayEquals(
                value,
                given().get("/v1/objects/public/doc")
                        .then()
                        .statusCode(200)
                        .extract()
                        .asByteArray(),
                "anyone reads public/");
        given().header(NODE, "writer")
                .contentType(OCTETS)
                .body(value)
                .put("/v1/objects/team/doc")
                .then()
                .statusCode(201);
        given().get("/v1/objects/team/doc").then().statusCode(403).body("code", equalTo(-1100));
        given().head("/v1/objects/team/doc").then().statusCode(403);
        given().header(NODE, "writer").get("/v1/objects/team/doc").then().statusCode(200);
        given().header(NODE, "writer")
                .contentType(OCTETS)
                .body(value)
                .put("/v1/objects/private/doc")
                .then()
                .statusCode(403);
        given().delete("/v1/objects/public/doc").then().statusCode(403);
        given().header(NODE, "writer").delete("/v1/objects/public/doc").then().statusCode(204);
    }

    @Test
    void adminViewsNeedTheAdminRightAndShowTheConfiguredStrategies() {
        given().get("/v1/cluster").then().statusCode(403).body("code", equalTo(-1100));
        given().header(NODE, "writer").get("/v1/segments").then().statusCode(403);
        given().header(NODE, "ops")
                .get("/v1/cluster")
                .then()
                .statusCode(200)
                .body("accessControl", equalTo(true))
                .body("placement", equalTo("local-first"))
                .body("eviction", equalTo("fifo"));
        given().header(NODE, "ops").get("/v1/workers").then().statusCode(200);
        given().header(NODE, "ops").get("/v1/topology").then().statusCode(200);
        given().get("/v1/topology").then().statusCode(403);
    }

    @Test
    void rulesAddedThroughTheApiTakeEffectAndConfigRulesAreReadOnly() {
        given().header(NODE, "guest")
                .contentType(OCTETS)
                .body(new byte[10])
                .put("/v1/objects/guest/a")
                .then()
                .statusCode(403);
        given().header(NODE, "guest")
                .contentType("application/json")
                .body("{\"nodes\":[\"guest\"],\"prefixes\":[\"guest/\"],\"rights\":[\"read\",\"write\"]}")
                .put("/v1/access/rules/guests")
                .then()
                .statusCode(403);
        given().header(NODE, "ops")
                .contentType("application/json")
                .body("{\"nodes\":[\"guest\"],\"prefixes\":[\"guest/\"],\"rights\":[\"read\",\"write\"]}")
                .put("/v1/access/rules/guests")
                .then()
                .statusCode(204);
        given().header(NODE, "ops")
                .get("/v1/access/rules")
                .then()
                .statusCode(200)
                .body("rule.name", hasItem("guests"))
                .body("find { it.rule.name == 'ops' }.source", equalTo("config"))
                .body("find { it.rule.name == 'guests' }.source", equalTo("api"));
        given().header(NODE, "guest")
                .contentType(OCTETS)
                .body(new byte[10])
                .put("/v1/objects/guest/a")
                .then()
                .statusCode(201);

        given().header(NODE, "ops")
                .contentType("application/json")
                .body("{\"rights\":[\"fly\"]}")
                .put("/v1/access/rules/bad")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
        given().header(NODE, "ops")
                .contentType("application/json")
                .body("{\"rights\":[\"read\"],\"cidrs\":[\"x\"]}")
                .put("/v1/access/rules/bad")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
        given().header(NODE, "ops")
                .contentType("application/json")
                .body("[1]")
                .put("/v1/access/rules/bad")
                .then()
                .statusCode(400);
        given().header(NODE, "ops")
                .contentType("application/json")
                .body("{\"rights\":[\"read\"]}")
                .put("/v1/access/rules/ops")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
        given().header(NODE, "ops").delete("/v1/access/rules/ops").then().statusCode(400);

        given().header(NODE, "ops").delete("/v1/access/rules/guests").then().statusCode(204);
        given().header(NODE, "guest")
                .contentType(OCTETS)
                .body(new byte[10])
                .put("/v1/objects/guest/b")
                .then()
                .statusCode(403);
        given().header(NODE, "ops").delete("/v1/access/rules/guests").then().statusCode(400);
    }

    @Test
    void metricsAnswerOnlyAdmins() {
        // D21 of the hardening issue: /q/metrics answered callers with no right.
        given().get("/q/metrics").then().statusCode(403).body("code", equalTo(-1100));
        given().header(NODE, "writer").get("/q/metrics").then().statusCode(403);
        given().header(NODE, "ops").get("/q/metrics").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(200);
    }

    @Test
    void aStreamedGrpcPutIsCheckedOnItsFirstChunk() {
        PutChunk first = PutChunk.newBuilder()
                .setHeader(PutHeader.newBuilder().setKey("team/streamed").setSize(3))
                .setData(ByteString.copyFrom(new byte[] {1, 2, 3}))
                .build();
        StatusRuntimeException refused = assertThrows(
                StatusRuntimeException.class,
                () -> objects.put(Multi.createFrom().item(first)).await().atMost(Duration.ofSeconds(30)));
        assertEquals(ErrorCode.PERMISSION_DENIED, GrpcErrors.fromStatus(refused).code());
        given().header(NODE, "ops").get("/v1/keys/team/streamed").then().statusCode(404);
    }

    @Test
    void grpcCallsAreCheckedAndBatchesAnswerPerKey() {
        assertDenied(
                ErrorCode.PERMISSION_DENIED,
                () -> anonymous.putStart(PutStartRequest.newBuilder()
                        .setClientId("g")
                        .setKey("public/g")
                        .setSize(10)
                        .build()));
        as("writer")
                .putStart(PutStartRequest.newBuilder()
                        .setClientId("g")
                        .setKey("public/g")
                        .setSize(10)
                        .build());
        as("writer")
                .putEnd(PutEndRequest.newBuilder()
                        .setClientId("g")
                        .setKey("public/g")
                        .build());
        as("writer")
                .putStart(PutStartRequest.newBuilder()
                        .setClientId("g")
                        .setKey("team/g")
                        .setSize(10)
                        .build());
        as("writer")
                .putEnd(PutEndRequest.newBuilder()
                        .setClientId("g")
                        .setKey("team/g")
                        .build());

        var exist = anonymous.batchExist(BatchKeysRequest.newBuilder()
                .addAllKeys(List.of("public/g", "team/g", "public/none"))
                .build());
        assertEquals(
                List.of(0, ErrorCode.PERMISSION_DENIED.number(), 0),
                exist.getStatusesList().stream().map(s -> s.getCode()).toList());
        assertEquals(List.of(true, false, false), exist.getExistsList());

        assertDenied(
                ErrorCode.PERMISSION_DENIED,
                () -> as("writer").removeAll(RemoveAllRequest.newBuilder().build()));
        as("worker-node")
                .heartbeat(HeartbeatRequest.newBuilder().setClientId("nobody").build());
    }

    /** The master wire protocol identifies its caller in the hello and checks every call like gRPC does. */
    @Test
    void wireCallsAreCheckedForTheNodeNamedInTheHello() {
        String address = service.getHost() + ":" + service.getPort();
        try (RemoteMasterClient anyone =
                        new RemoteMasterClient(() -> address, "", Duration.ofSeconds(5), Duration.ofSeconds(5), true);
                RemoteMasterClient writer = new RemoteMasterClient(
                        () -> address, "writer", Duration.ofSeconds(5), Duration.ofSeconds(5), true)) {
            StoreException denied =
                    assertThrows(StoreException.class, () -> anyone.putStart("w", "public/wire", 10, 1, false));
            assertEquals(ErrorCode.PERMISSION_DENIED, denied.code());
            writer.putStart("w", "public/wire", 10, 1, false);
            writer.putEnd("w", "public/wire");
            assertTrue(anyone.exist("public/wire"), "anyone reads public/");
            assertEquals(
                    ErrorCode.PERMISSION_DENIED,
                    assertThrows(StoreException.class, () -> writer.putStart("w", "private/wire", 10, 1, false))
                            .code());
            assertEquals(
                    List.of(ErrorCode.OK, ErrorCode.PERMISSION_DENIED),
                    anyone.batchExist(List.of("public/wire", "team/wire")).stream()
                            .map(r -> r.ok() ? ErrorCode.OK : r.code())
                            .toList());
            assertEquals(
                    ErrorCode.PERMISSION_DENIED,
                    assertThrows(StoreException.class, () -> writer.removeAll(true))
                            .code());
        }
    }

    /** A transfer engine with TCP only, as a client on another host has. */
    private static TransferEngine outsiderEngine() {
        return new TransferEngine(
                new RegisteredMemory(),
                List.of(new TcpTransport(
                        "outsider",
                        new TcpSettings(
                                1,
                                1 << 20,
                                Duration.ofSeconds(5),
                                1,
                                5,
                                Duration.ofSeconds(10),
                                Duration.ofSeconds(1)))),
                TransferObserver.NONE);
    }

    @Test
    void theWorkerServesOnlyTransfersWithTheMastersTicket() {
        byte[] value = new byte[200_000];
        new Random(2).nextBytes(value);
        given().header(NODE, "writer")
                .contentType(OCTETS)
                .body(value)
                .put("/v1/objects/team/ticketed")
                .then()
                .statusCode(201);
        var location = as("writer")
                .getReplicaList(GetReplicaListRequest.newBuilder()
                        .setKey("team/ticketed")
                        .build());
        ReplicaDescriptor replica = ProtoMapping.fromProto(location.getReplicas(0));
        assertTrue(replica.ticket() != null, "the master signs a ticket into every replica it hands out");

        try (TransferEngine remote = outsiderEngine()) {
            byte[] back = new byte[value.length];
            // Over TCP, as a client on another host would read: with the ticket it works, without it nothing moves.
            remote.execute(List.of(new TransferRequest(
                    TransferOp.READ,
                    MemorySegment.ofArray(back),
                    replica.segment(),
                    replica.endpoint(),
                    replica.offset(),
                    replica.ticket())));
            assertArrayEquals(value, back);
            StoreException refused = assertThrows(
                    StoreException.class,
                    () -> remote.execute(List.of(new TransferRequest(
                            TransferOp.READ,
                            MemorySegment.ofArray(new byte[100]),
                            replica.segment(),
                            replica.endpoint(),
                            0))));
            assertEquals(ErrorCode.UNAUTHENTICATED, refused.code());
            StoreException widened = assertThrows(
                    StoreException.class,
                    () -> remote.execute(List.of(new TransferRequest(
                            TransferOp.WRITE,
                            MemorySegment.ofArray(new byte[100]),
                            replica.segment(),
                            replica.endpoint(),
                            replica.offset(),
                            replica.ticket()))));
            assertEquals(ErrorCode.PERMISSION_DENIED, widened.code(), "a read ticket does not allow a write");
        }
    }

    /**
     * Issue 24 and D1/D2 of the hardening issue, end to end: a removed object's range is scrubbed under a revoking
     * ticket and reused at once, although tickets handed out for it would still be valid for seconds; a reader that
     * kept one (its lease handed back) is refused, over TCP as from another host, and nobody reads the old bytes.
     */
    @Test
    void aFreedRangeIsReusedAtOnceAndTicketsHandedOutForItAreRefused() {
        byte[] value = new byte[64 << 10];
        new Random(3).nextBytes(value);
        given().header(NODE, "writer")
                .contentType(OCTETS)
                .body(value)
                .put("/v1/objects/team/freed")
                .then()
                .statusCode(201);
        long used = master.stats().usedBytes();
        var location = ProtoMapping.fromProto(as("writer")
                .getReplicaList(
                        GetReplicaListRequest.newBuilder().setKey("team/freed").build()));
        ReplicaDescriptor kept = location.replicas().getFirst();
        master.releaseLeases(List.of(ReadLease.of("team/freed", location)));
        given().header(NODE, "writer").delete("/v1/objects/team/freed").then().statusCode(204);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (master.stats().usedBytes() > used - value.length && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(used - value.length, master.stats().usedBytes(), "the range came back without waiting");

        try (TransferEngine remote = outsiderEngine()) {
            StoreException refused = assertThrows(
                    StoreException.class,
                    () -> remote.execute(List.of(new TransferRequest(
                            TransferOp.READ,
                            MemorySegment.ofArray(new byte[value.length]),
                            kept.segment(),
                            kept.endpoint(),
                            kept.offset(),
                            kept.ticket()))));
            assertEquals(ErrorCode.PERMISSION_DENIED, refused.code(), refused.getMessage());
        }
    }

    @Test
    void memoryAClientContributesIsServedOnlyWithTicketsOrNotTakenAtAll() {
        // D5 of the hardening issue: contributed memory was served to anyone who reached its port.
        ClientOptions ops = ClientOptions.master(service.getHost() + ":" + service.getPort())
                .withNodeName("ops")
                .withSharedMemory(false);
        StoreException refused =
                assertThrows(StoreException.class, () -> CrescentClient.connect(ops.withContributedMemory(8 << 20)));
        assertEquals(ErrorCode.PERMISSION_DENIED, refused.code(), refused.getMessage());

        byte[] value = new byte[100_000];
        new Random(5).nextBytes(value);
        byte[] secret = AccessOnProfile.TICKET_SECRET.getBytes(StandardCharsets.UTF_8);
        try (CrescentClient donor = CrescentClient.connect(
                        ops.withContributedMemory(new ClientOptions.ContributedMemory(8 << 20, secret)));
                CrescentClient reader = CrescentClient.connect(ops)) {
            String segment = donor.contributedSegment().orElseThrow();
            donor.putFrom(
                    "team/donated",
                    MemorySegment.ofArray(value),
                    ReplicaConfig.replicas(1).withPreferred(segment));
            ReplicaDescriptor replica = ProtoMapping.fromProto(as("ops")
                    .getReplicaList(GetReplicaListRequest.newBuilder()
                            .setKey("team/donated")
                            .build())
                    .getReplicas(0));
            assertEquals(segment, replica.segment(), "placed in the contributed memory");
            assertArrayEquals(value, reader.get("team/donated"), "read over TCP with the master's ticket");
            try (TransferEngine outsider = new TransferEngine(
                    new RegisteredMemory(),
                    List.of(new TcpTransport("outsider", TcpSettings.defaults())),
                    TransferObserver.NONE)) {
                StoreException unticketed = assertThrows(
                        StoreException.class,
                        () -> outsider.execute(List.of(new TransferRequest(
                                TransferOp.READ,
                                MemorySegment.ofArray(new byte[100]),
                                replica.segment(),
                                replica.endpoint(),
                                replica.offset()))));
                assertEquals(ErrorCode.UNAUTHENTICATED, unticketed.code());
            }
        }
    }

    /** A watcher sees events only of keys it may read: a tenant learns nothing of another's keys. */
    @Test
    void watchersSeeOnlyEventsOfKeysTheyMayRead() {
        Iterator<EventBatch> anonymous =
                events.withDeadlineAfter(20, TimeUnit.SECONDS).watchEvents(WatchEventsRequest.getDefaultInstance());
        Metadata writerName = new Metadata();
        writerName.put(GrpcErrors.NODE_KEY, "writer");
        Iterator<EventBatch> writer = events.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(writerName))
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .watchEvents(WatchEventsRequest.getDefaultInstance());
        anonymous.next();
        writer.next();
        for (String key : List.of("public/watched-1", "team/watched-2", "public/watched-3")) {
            given().header(NODE, "writer")
                    .contentType(OCTETS)
                    .body(new byte[100])
                    .put("/v1/objects/" + key)
                    .then()
                    .statusCode(201);
        }
        assertEquals(List.of("public/watched-1", "public/watched-3"), watchedKeys(anonymous, 2));
        assertEquals(List.of("public/watched-1", "team/watched-2", "public/watched-3"), watchedKeys(writer, 3));
    }

    private static List<String> watchedKeys(Iterator<EventBatch> stream, int count) {
        List<String> keys = new ArrayList<>();
        while (keys.size() < count) {
            stream.next().getEventsList().stream()
                    .map(dev.crescent.protocol.proto.ObjectEvent::getKey)
                    .filter(key -> key.contains("/watched-"))
                    .forEach(keys::add);
        }
        return keys;
    }

    private static void assertDenied(ErrorCode code, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, GrpcErrors.fromStatus(e).code());
    }
}
