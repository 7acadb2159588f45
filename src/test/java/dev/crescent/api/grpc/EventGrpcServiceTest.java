package dev.crescent.api.grpc;

import dev.crescent.common.ErrorCode;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.proto.EventBatch;
import dev.crescent.protocol.proto.EventKind;
import dev.crescent.protocol.proto.ObjectEvent;
import dev.crescent.protocol.proto.ObjectEventsGrpc;
import dev.crescent.protocol.proto.WatchEventsRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** WatchEvents over real gRPC on the standalone service, with objects written and removed through REST. */
@QuarkusTest
class EventGrpcServiceTest {

    @GrpcClient("events")
    ObjectEventsGrpc.ObjectEventsBlockingStub events;

    private Iterator<EventBatch> watch(WatchEventsRequest request) {
        return events.withDeadlineAfter(20, TimeUnit.SECONDS).watchEvents(request);
    }

    private static void put(String key, int size) {
        given().contentType("application/octet-stream")
                .body(new byte[size])
                .put("/v1/objects/" + key)
                .then()
                .statusCode(201);
    }

    /** The next {@code count} events, with the position of the batch that carried the last. */
    private record Seen(List<ObjectEvent> events, long position) {}

    private static Seen next(Iterator<EventBatch> stream, int count) {
        List<ObjectEvent> seen = new ArrayList<>();
        long position = -1;
        while (seen.size() < count) {
            EventBatch batch = stream.next();
            seen.addAll(batch.getEventsList());
            position = batch.getPosition();
        }
        return new Seen(seen, position);
    }

    @Test
    void aWatcherSeesItsPrefixsChangesInOrderAndResumesWithoutRepeatsOrGaps() {
        Iterator<EventBatch> stream =
                watch(WatchEventsRequest.newBuilder().setPrefix("ev1/").build());
        EventBatch hello = stream.next();
        assertFalse(hello.getStream().isEmpty(), "the first batch names the stream");
        assertEquals(0, hello.getEventsCount());

        put("ev1/a", 5000);
        put("ev1-other/x", 10);
        put("ev1/b", 7000);
        given().delete("/v1/objects/ev1/a").then().statusCode(204);

        Seen first = next(stream, 1);
        ObjectEvent stored = first.events().getFirst();
        assertEquals(EventKind.STORED, stored.getKind());
        assertEquals("ev1/a", stored.getKey());
        assertEquals(5000, stored.getSize());
        assertTrue(stored.getSegmentsCount() > 0, "where the replicas are");
        List<ObjectEvent> rest =
                new ArrayList<>(first.events().subList(1, first.events().size()));
        if (rest.size() < 2) {
            rest.addAll(next(stream, 2 - rest.size()).events());
        }
        assertEquals(
                List.of("STORED ev1/b", "REMOVED ev1/a"),
                rest.stream().map(e -> e.getKind() + " " + e.getKey()).toList(),
                "ev1-other/ is filtered out");
        assertTrue(rest.get(0).getSequence() > stored.getSequence()
                && rest.get(1).getSequence() > rest.get(0).getSequence());

        // A watcher that resumes after the first event sees the rest, and nothing twice.
        Iterator<EventBatch> resumed = watch(WatchEventsRequest.newBuilder()
                .setPrefix("ev1/")
                .setStream(hello.getStream())
                .setAfter(stored.getSequence())
                .build());
        resumed.next();
        assertEquals(
                rest.stream().map(ObjectEvent::getSequence).toList(),
                next(resumed, 2).events().stream().map(ObjectEvent::getSequence).toList());
    }

    @Test
    void resumingAnotherStreamOrTooFarBackAnswersEventsLost() {
        EventBatch hello =
                watch(WatchEventsRequest.newBuilder().setPrefix("ev2/").build()).next();
        for (WatchEventsRequest stale : List.of(
                WatchEventsRequest.newBuilder()
                        .setStream("master/not-this-one")
                        .setAfter(hello.getPosition())
                        .build(),
                WatchEventsRequest.newBuilder()
                        .setStream(hello.getStream())
                        .setAfter(hello.getPosition() + (1L << 40))
                        .build())) {
            StatusRuntimeException refused = assertThrows(
                    StatusRuntimeException.class, () -> watch(stale).next());
            assertEquals(Status.Code.OUT_OF_RANGE, refused.getStatus().getCode());
            assertEquals(ErrorCode.EVENTS_LOST, GrpcErrors.fromStatus(refused).code());
        }
    }
}
