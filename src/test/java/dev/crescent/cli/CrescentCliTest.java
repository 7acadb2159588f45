package dev.crescent.cli;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The operator CLI against the standalone service of this test JVM. */
@QuarkusTest
class CrescentCliTest {
    @TestHTTPResource("/")
    URL service;

    @TempDir
    Path dir;

    private record Outcome(int status, String out, String err) {}

    private Outcome cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 2];
        all[0] = "--master";
        all[1] = service.getHost() + ":" + service.getPort();
        System.arraycopy(args, 0, all, 2, args.length);
        int status = CrescentCli.run(all, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Outcome(status, out.toString(), err.toString());
    }

    @Test
    void putGetLsStatRmAFile() throws IOException {
        byte[] bytes = new byte[200_000];
        new Random(7).nextBytes(bytes);
        Path in = Files.write(dir.resolve("in.bin"), bytes);
        assertEquals(0, cli("put", "cli/file", in.toString()).status());
        Path out = dir.resolve("out.bin");
        assertEquals(0, cli("get", "cli/file", out.toString()).status());
        assertArrayEquals(bytes, Files.readAllBytes(out));

        Outcome ls = cli("ls", "cli/");
        assertEquals(0, ls.status());
        assertTrue(ls.out().lines().anyMatch("cli/file"::equals), ls.out());
        Outcome stat = cli("stat", "cli/file");
        assertTrue(stat.out().contains("200000 bytes") && stat.out().contains("COMPLETE"), stat.out());

        assertEquals(0, cli("rm", "cli/file").status());
        Outcome missing = cli("get", "cli/file", out.toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("-704 OBJECT_NOT_FOUND"), missing.err());
        assertEquals(
                1, cli("put", "cli/x", dir.resolve("no-such-file").toString()).status());
    }

    @Test
    void statusShowsSegmentsAndBenchPrintsItsTable() {
        Outcome status = cli("status");
        assertEquals(0, status.status(), status.err());
        assertTrue(status.out().contains("SEGMENT") && status.out().contains("standalone"), status.out());
        Outcome bench = cli("bench", "--size", "65536", "--count", "40", "--threads", "2");
        assertEquals(0, bench.status(), bench.err());
        assertTrue(bench.out().lines().anyMatch(l -> l.startsWith("put ") && l.contains(" 40 ")), bench.out());
        assertTrue(bench.out().lines().anyMatch(l -> l.startsWith("get ") && l.contains(" 40 ")), bench.out());
        assertEquals("", cli("ls", "bench/cli/").out(), "bench removes its objects");
    }
}
