package dev.crescent.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.crescent.it.CliScript.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/crescent} as an operator runs it, against a standalone server process: each command answers on
 * standard output and exits 0, with nothing on standard error (the script starts the JVM with the service's own
 * flags, so neither the JVM nor Netty warns).
 */
class CliScriptIT {
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

            CliScript.Run put = cli(master, "put", "cli/one", in.toString());
            CliScript.Run get = cli(master, "get", "cli/one", out.toString());
            CliScript.Run ls = cli(master, "ls", "cli/");
            CliScript.Run status = cli(master, "status");
            for (CliScript.Run run : List.of(put, get, ls, status)) {
                assertEquals(0, run.exit(), run.toString());
                assertEquals("", run.err(), "nothing on stderr: " + run);
            }
            assertArrayEquals(bytes, Files.readAllBytes(out));
            assertTrue(ls.out().contains("cli/one"), ls.out());
            assertTrue(status.out().contains("(standalone)"), status.out());

            CliScript.Run missing = cli(master, "get", "cli/none", out.toString());
            assertTrue(missing.exit() != 0, "a missing key fails the command: " + missing);
            assertTrue(missing.err().contains("OBJECT_NOT_FOUND"), missing.err());
            assertTrue(!missing.err().contains("WARNING") && !missing.err().contains("Exception"), missing.err());
        }
    }

    private static CliScript.Run cli(String master, String... command) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of("--master", master));
        line.addAll(List.of(command));
        return run(line);
    }
}
