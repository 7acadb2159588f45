package dev.crescent.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The /ui dashboard in Debian's headless Chromium against a running server: the page polls the service, and after
 * traffic its charts have moved (samples drawn, a non-zero write rate and put rate, as the page records them on
 * its body), it shows the segment and its worker, and a screenshot is saved to target/ui-dashboard.png.
 * Chromium comes from apt (bin/test installs it).
 */
class DashboardIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Pattern BODY = Pattern.compile("<body ([^>]*)>");

    @Test
    void chartsMoveAfterTrafficInAHeadlessBrowser() throws Exception {
        assertTrue(Files.isExecutable(CHROMIUM), "Debian's chromium is needed (apt install chromium; bin/test does)");
        try (CrescentProcess node = CrescentProcess.start("it-ui")) {
            String page = node.baseUrl() + "/ui/";
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<Void> bare = http.send(
                    HttpRequest.newBuilder(URI.create(node.baseUrl() + "/ui")).build(),
                    HttpResponse.BodyHandlers.discarding());
            assertEquals(303, bare.statusCode());

            HttpResponse<String> tenant = http.send(
                    HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/tenants/ui-team"))
                            .header("Content-Type", "application/json")
                            .PUT(HttpRequest.BodyPublishers.ofString("{\"prefix\":\"team/\",\"quotaBytes\":1048576}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(204, tenant.statusCode(), tenant.body());

            Path screenshot = Path.of("target/ui-dashboard.png").toAbsolutePath();
            Files.deleteIfExists(screenshot);
            AtomicBoolean stop = new AtomicBoolean();
            Thread traffic = Thread.ofVirtual().start(() -> put(http, node.baseUrl(), stop));
            String dom;
            try {
                dom = chromium("--virtual-time-budget=10000", "--dump-dom", page);
                chromium("--window-size=1280,1000", "--virtual-time-budget=10000", "--screenshot=" + screenshot, page);
            } finally {
                stop.set(true);
                traffic.join();
            }
            Matcher body = BODY.matcher(dom);
            assertTrue(body.find(), dom);
            int samples = Integer.parseInt(attribute(body.group(1), "data-samples"));
            assertTrue(samples >= 3, "the page drew samples as it polled: " + samples);
            assertTrue(Double.parseDouble(attribute(body.group(1), "data-peak-write-bps")) > 0, body.group(1));
            assertTrue(Double.parseDouble(attribute(body.group(1), "data-peak-puts")) > 0, body.group(1));
            assertTrue(dom.contains("standalone") && dom.contains("s ago"), "role and the worker's heartbeat shown");
            assertTrue(dom.contains("ui-team") && dom.contains("1.0 MiB"), "the tenant and its quota shown");

            byte[] png = Files.readAllBytes(screenshot);
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
            assertTrue(png.length > 20_000, "a rendered page, not a blank one: " + png.length + " bytes");
        }
    }

    /** Puts of 256 KiB objects (moved by the transfer engine, not inline) until told to stop. */
    private static void put(HttpClient http, String base, AtomicBoolean stop) {
        byte[] value = new byte[256 << 10];
        for (int i = 0; !stop.get(); i++) {
            try {
                http.send(
                        HttpRequest.newBuilder(URI.create(base + "/v1/objects/ui/k" + (i % 50)))
                                .header("Content-Type", "application/octet-stream")
                                .PUT(HttpRequest.BodyPublishers.ofByteArray(value))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                http.send(
                        HttpRequest.newBuilder(URI.create(base + "/v1/objects/ui/k" + (i % 50)))
                                .DELETE()
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                Thread.sleep(50);
            } catch (IOException | InterruptedException e) {
                return;
            }
        }
    }

    private static String chromium(String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(
                List.of(CHROMIUM.toString(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(90, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("chromium did not finish: " + command);
        }
        assertEquals(0, process.exitValue(), "chromium failed: " + command);
        return new String(out, StandardCharsets.UTF_8);
    }

    private static String attribute(String attributes, String name) {
        Matcher m = Pattern.compile(name + "=\"([^\"]*)\"").matcher(attributes);
        assertTrue(m.find(), name + " in " + attributes);
        return m.group(1);
    }
}
