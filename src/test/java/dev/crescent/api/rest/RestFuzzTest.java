package dev.crescent.api.rest;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Well-formed HTTP with hostile contents on the REST gateway, bounded in rounds: random methods, keys (any UTF-8,
 * percent-encoded), query parameters and bodies (bytes and broken JSON). Every answer keeps the error contract: an
 * error is JSON with a Crescent code, never a 500 and never a stack trace.
 */
@QuarkusTest
class RestFuzzTest {
    private static final int ROUNDS = 200;
    private static final String[] METHODS = {"GET", "PUT", "DELETE", "HEAD", "POST"};
    private static final String[] PATHS = {
        "/v1/objects/fuzz/", "/v1/batch/put", "/v1/batch/get", "/v1/batch/exists", "/v1/batch/remove", "/v1/keys/fuzz/"
    };
    private static final String[] QUERIES = {
        "", "?upsert=", "?replicas=", "?force=", "?pin=", "?preferred=", "?limit=", "?prefix="
    };
    private static final Pattern STATUS = Pattern.compile("^HTTP/1.1 (\\d{3})");

    @TestHTTPResource("/")
    URL service;

    @Test
    void hostileRequestsGetContractAnswers() throws IOException {
        Random random = new Random(1201);
        List<String> broken = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            String method = METHODS[random.nextInt(METHODS.length)];
            String path = PATHS[random.nextInt(PATHS.length)];
            if (path.endsWith("/")) {
                path += URLEncoder.encode(randomText(random), StandardCharsets.UTF_8)
                        .replace("+", "%20");
            }
            String query = QUERIES[random.nextInt(QUERIES.length)];
            if (!query.isEmpty()) {
                query += URLEncoder.encode(randomText(random), StandardCharsets.UTF_8);
            }
            byte[] body = randomBody(random);
            String answer = exchange(method, path + query, body);
            Matcher status = STATUS.matcher(answer);
            if (!status.find()) {
                broken.add(method + " " + path + query + " -> no status: " + abbreviate(answer));
                continue;
            }
            int code = Integer.parseInt(status.group(1));
            boolean contract = code < 400
                    || method.equals("HEAD")
                    || (code < 500 && answer.contains("\"code\":") && answer.contains("\"error\":"));
            if (!contract || code == 500 || answer.contains("Exception")) {
                broken.add(method + " " + path + query + " -> " + abbreviate(answer));
            }
        }
        assertTrue(broken.isEmpty(), "answers that break the contract:\n" + String.join("\n", broken));
    }

    private String exchange(String method, String target, byte[] body) throws IOException {
        try (Socket socket = new Socket(service.getHost(), service.getPort())) {
            socket.setSoTimeout(10_000);
            String head = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    + "Content-Type: "
                    + (target.startsWith("/v1/batch") ? "application/json" : "application/octet-stream")
                    + "\r\nContent-Length: " + body.length + "\r\n\r\n";
            socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(body);
            socket.getOutputStream().flush();
            byte[] answer = new DataInputStream(socket.getInputStream()).readAllBytes();
            return new String(answer, StandardCharsets.UTF_8);
        }
    }

    private static String randomText(Random random) {
        StringBuilder text = new StringBuilder();
        int length = random.nextInt(12);
        for (int i = 0; i < length; i++) {
            text.appendCodePoint(random.nextBoolean() ? 0x20 + random.nextInt(0x5F) : 1 + random.nextInt(0x2FF));
        }
        return text.toString();
    }

    private static byte[] randomBody(Random random) {
        String[] jsons = {
            "",
            "{",
            "null",
            "[]",
            "{\"keys\":null}",
            "{\"keys\":[null]}",
            "{\"keys\":[1,2]}",
            "{\"objects\":[{}]}",
            "{\"objects\":[{\"key\":\"fuzz/x\",\"value\":\"@@\"}]}",
            "{\"keys\":[\"fuzz/a\",\"fuzz/a\"]}"
        };
        if (random.nextBoolean()) {
            return jsons[random.nextInt(jsons.length)].getBytes(StandardCharsets.UTF_8);
        }
        byte[] bytes = new byte[random.nextInt(64)];
        random.nextBytes(bytes);
        return bytes;
    }

    private static String abbreviate(String answer) {
        String flat = answer.replace("\r\n", " | ");
        return flat.length() > 300 ? flat.substring(0, 300) + "..." : flat;
    }
}
