package dev.crescent.it;

import dev.crescent.cli.CrescentCli;
import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.client.RemoteMasterClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;

import static dev.crescent.it.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Identities that are proofs: a master and a worker in separate processes, each with its own certificate, mutual
 * TLS on every control-plane entry (REST, gRPC, the master wire protocol) and access control on. Rules name nodes,
 * and only a certificate's subject CN matches them: the worker mounts because its certificate says {@code
 * worker-1} (its stated node name is something else), a client whose certificate says {@code infer-1} reads and
 * writes {@code llama/}, and a caller who merely states {@code infer-1} (header, wire hello) is refused on every
 * interface, as is a certificate from another authority. The worker's transfer server speaks TLS as well.
 */
class MutualTlsIT {
    @TempDir
    static Path pki;

    private static CertificateAuthority ca;
    private static CrescentProcess master;
    private static CrescentProcess worker;
    private static String address;

    @BeforeAll
    static void startCluster() throws Exception {
        ca = CertificateAuthority.create(pki, "crescent-ca");
        List<String> common =
                List.of("crescent.access.enabled=true", "crescent.access.ticket-secret=tls-it-secret-0123");
        List<String> masterProperties = new ArrayList<>(common);
        masterProperties.addAll(ca.issue("master").serverProperties());
        masterProperties.addAll(List.of(
                "quarkus.profile=master",
                "crescent.access.rules.workers.nodes=worker-1",
                "crescent.access.rules.workers.rights=mount",
                "crescent.access.rules.infer.nodes=infer-1",
                "crescent.access.rules.infer.prefixes=llama/",
                "crescent.access.rules.infer.rights=read,write",
                "crescent.access.rules.ops.nodes=ops",
                "crescent.access.rules.ops.rights=admin"));
        master = CrescentProcess.start("tls-master", masterProperties.toArray(String[]::new));
        address = "localhost:" + master.port();
        assertTrue(master.baseUrl().startsWith("https://"), "the master serves TLS only: " + master.baseUrl());

        List<String> workerProperties = new ArrayList<>(common);
        workerProperties.addAll(ca.issue("worker-1").serverProperties());
        workerProperties.addAll(List.of(
                "quarkus.profile=worker",
                "crescent.worker.master-address=" + address,
                "crescent.worker.segment-size=32M",
                "crescent.worker.heartbeat-interval=300ms",
                // Its transfer server speaks TLS too: every transfer below (and the master's scrubs) goes over TLS.
                "crescent.transfer.tcp.tls=true"));
        // Its stated node name is "tls-worker" (CrescentProcess sets it); only the certificate's name has mount.
        worker = CrescentProcess.start("tls-worker", workerProperties.toArray(String[]::new));
    }

    @AfterAll
    static void stopCluster() {
        if (worker != null) {
            worker.close();
        }
        if (master != null) {
            master.close();
        }
    }

    @Test
    void aWorkerMountsUnderItsCertificatesNameAndClientsReadAndWriteUnderTheirs() throws Exception {
        SSLContext ops = ca.issue("ops").clientContext();
        await(() -> segments(ops) == 1, 30);
        String listed = new String(get(ops, "/v1/segments", "").body(), StandardCharsets.UTF_8);
        assertTrue(listed.contains("tls=1"), "the worker's endpoint says its transfers are TLS: " + listed);

        SSLContext infer = ca.issue("infer-1").clientContext();
        byte[] value = "kv block over mutual TLS".repeat(500).getBytes(StandardCharsets.UTF_8);
        try (CrescentClient client =
                CrescentClient.connect(options("stated-name-is-ignored").withTls(infer))) {
            client.put("llama/tls/1", value);
            assertArrayEquals(value, client.get("llama/tls/1"), "wire calls, then a ticketed transfer");
            assertEquals(
                    ErrorCode.PERMISSION_DENIED,
                    assertThrows(StoreException.class, () -> client.put("mistral/tls/1", value))
                            .code(),
                    "the certificate's rule covers llama/ only");
        }
        try (RemoteMasterClient grpc =
                new RemoteMasterClient(() -> address, "", Duration.ofSeconds(5), Duration.ofSeconds(5), false, infer)) {
            assertTrue(grpc.exist("llama/tls/1"), "gRPC over TLS, named by the certificate");
        }
        HttpResponse<byte[]> rest = get(infer, "/v1/objects/llama/tls/1", "");
        assertEquals(200, rest.statusCode());
        assertArrayEquals(value, rest.body(), "REST over TLS, named by the certificate");

        // The CLI with an operator's certificate: stat over the admin REST API, get through the Java client.
        CertificateAuthority.Identity cli = ca.issue("ops");
        Path back = pki.resolve("back.bin");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        for (String[] command :
                List.of(new String[] {"stat", "llama/tls/1"}, new String[] {"get", "llama/tls/1", back.toString()})) {
            List<String> line = new ArrayList<>(List.of(
                    "--master",
                    address,
                    "--tls-cert",
                    cli.certificate().toString(),
                    "--tls-key",
                    cli.key().toString(),
                    "--tls-ca",
                    cli.trusted().toString()));
            line.addAll(List.of(command));
            assertEquals(
                    0,
                    CrescentCli.run(line.toArray(String[]::new), new PrintWriter(out), new PrintWriter(err)),
                    command[0] + ": " + err);
        }
        assertTrue(out.toString().contains("(" + value.length + " bytes)"), out.toString());
        assertArrayEquals(value, Files.readAllBytes(back));
    }

    @Test
    void aStatedNameOrAForeignCertificateGetsNothing() throws Exception {
        SSLContext infer = ca.issue("infer-1").clientContext();
        try (CrescentClient client = CrescentClient.connect(options("x").withTls(infer))) {
            client.put("llama/tls/claimed", "owned by infer-1".getBytes(StandardCharsets.UTF_8));
        }

        // Trusted by the server, but presenting no certificate: only the stated name remains, and it counts for naught.
        SSLContext anonymous = ca.trustOnly();
        try (CrescentClient client = CrescentClient.connect(options("infer-1").withTls(anonymous))) {
            assertDenied(() -> client.get("llama/tls/claimed"), "wire hello");
        }
        try (RemoteMasterClient grpc = new RemoteMasterClient(
                () -> address, "infer-1", Duration.ofSeconds(5), Duration.ofSeconds(5), false, anonymous)) {
            assertDenied(() -> grpc.exist("llama/tls/claimed"), "crescent-node header");
        }
        HttpResponse<byte[]> rest = get(anonymous, "/v1/objects/llama/tls/claimed", "infer-1");
        assertEquals(403, rest.statusCode());
        assertEquals(
                -1100,
                JsonPath.from(new String(rest.body(), StandardCharsets.UTF_8)).getInt("code"));

        // A certificate of its own, stating another node's name: its own name (none of the rules') is what counts.
        SSLContext intruder = ca.issue("intruder").clientContext();
        try (CrescentClient client = CrescentClient.connect(options("infer-1").withTls(intruder))) {
            assertDenied(() -> client.get("llama/tls/claimed"), "a certified intruder");
            assertDenied(() -> client.put("llama/tls/claimed2", new byte[16]), "a certified intruder");
        }

        // The name infer-1, but signed by an authority the master does not trust: no connection at all.
        CertificateAuthority rogue = CertificateAuthority.create(pki, "rogue-ca");
        SSLContext forged = rogue.issue("infer-1").clientContext();
        try (CrescentClient client = CrescentClient.connect(
                options("infer-1").withTls(forged).withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1)))) {
            StoreException refused = assertThrows(StoreException.class, () -> client.get("llama/tls/claimed"));
            assertNotEquals(ErrorCode.OK, refused.code());
            assertTrue(
                    refused.code() == ErrorCode.RPC_FAIL || refused.code() == ErrorCode.RPC_TIMEOUT,
                    "the handshake fails: " + refused);
        }

        // Plain HTTP on the TLS port is no way around it.
        try (HttpClient plain = HttpClient.newHttpClient()) {
            assertThrows(
                    IOException.class,
                    () -> plain.send(
                            HttpRequest.newBuilder(URI.create("http://" + address + "/v1/objects/llama/tls/claimed"))
                                    .header("X-Crescent-Node", "infer-1")
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                            HttpResponse.BodyHandlers.ofByteArray()));
        }
    }

    private static ClientOptions options(String statedName) {
        return ClientOptions.master(address).withNodeName(statedName).withSharedMemory(false);
    }

    private static void assertDenied(org.junit.jupiter.api.function.Executable call, String path) {
        assertEquals(
                ErrorCode.PERMISSION_DENIED,
                assertThrows(StoreException.class, call).code(),
                path + ": a stated name proves nothing");
    }

    /** How many segments the master lists, or -1 while it does not answer. */
    private static int segments(SSLContext admin) {
        HttpResponse<byte[]> answer;
        try {
            answer = get(admin, "/v1/segments", "");
        } catch (Exception e) {
            return -1;
        }
        return answer.statusCode() == 200
                ? JsonPath.from(new String(answer.body(), StandardCharsets.UTF_8))
                        .getList("name")
                        .size()
                : -1;
    }

    private static HttpResponse<byte[]> get(SSLContext tls, String path, String statedName) throws Exception {
        try (HttpClient https = HttpClient.newBuilder().sslContext(tls).build()) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://" + address + path))
                    .timeout(Duration.ofSeconds(10));
            if (!statedName.isEmpty()) {
                request.header("X-Crescent-Node", statedName);
            }
            return https.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        }
    }
}
