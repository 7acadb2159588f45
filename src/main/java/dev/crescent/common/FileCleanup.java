package dev.crescent.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Deleting files a failure or a finished load leaves behind, where a file that cannot go is no error of the call's. */
public final class FileCleanup {
    private FileCleanup() {}

    /**
     * Deletes {@code file} if it is there; a file that cannot be deleted stays, and the caller's comment says what
     * takes it later (a sweep of dead processes' files, {@code deleteOnExit}).
     */
    public static void deleteIfPresent(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // left for whatever the caller names to take it
        }
    }
}
