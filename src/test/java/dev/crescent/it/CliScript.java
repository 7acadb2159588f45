package dev.crescent.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code bin/crescent} as an operator would, from the checkout, and collects what it printed. */
final class CliScript {
    private CliScript() {}

    record Run(int exit, String out, String err) {}

    static Run run(List<String> arguments) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of("bin/crescent"));
        line.addAll(arguments);
        Process process = new ProcessBuilder(line).start();
        process.getOutputStream().close();
        // Small outputs: read both after exit without risk of filling a pipe.
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", line) + " did not finish");
        }
        return new Run(
                process.exitValue(),
                new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
