package dev.crescent.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/crescent} as an operator runs it, against a standalone server process: each command answers on
 * standard output and exits 0, with nothing on standard error (the script starts the JVM with the service's own
 * flags, so neither the JVM nor Netty warns).
 */
class CliScriptIT {
    private record Run(int exit, String out, String err) {}

    @Test
    void commandsAnswerWithNothingOnStandardError(@TempDir Path dir) throws Exception {
        try (CrescentProcess node = CrescentProcess.start("it-cli")) {
            String master = "localhost:" + node.port();
            byte[] bytes = new byte[100_000];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) (i * 31);
            }
            Path in = Files.write(dir.resolve("in.bin"), bytes);
            Path out = dir.resolve("out.bin");

            Run put = cli(master, "put", "cli/one", in.toString());
            Run get = cli(master, "get", "cli/one", out.toString());
            Run ls = cli(master, "ls", "cli/");
            Run status = cli(master, "status");
            for (Run run : List.of(put, get, ls, status)) {
                assertEquals(0, run.exit(), run.toString());
                assertEquals("", run.err(), "nothing on stderr: " + run);
            }
            assertArrayEquals(bytes, Files.readAllBytes(out));
            assertTrue(ls.out().contains("cli/one"), ls.out());
            assertTrue(status.out().contains("(standalone)"), status.out());

            Run missing = cli(master, "get", "cli/none", out.toString());
            assertTrue(missing.exit() != 0, "a missing key fails the command: " + missing);
            assertTrue(missing.err().contains("OBJECT_NOT_FOUND"), missing.err());
            assertTrue(!missing.err().contains("WARNING") && !missing.err().contains("Exception"), missing.err());
        }
    }

    private static Run cli(String master, String... command) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of("bin/crescent", "--master", master));
        line.addAll(List.of(command));
        Process process = new ProcessBuilder(line).start();
        process.getOutputStream().close();
        // Small outputs: read both after exit without risk of filling a pipe.
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("bin/crescent " + String.join(" ", command) + " did not finish");
        }
        return new Run(
                process.exitValue(),
                new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
