package dev.crescent.common;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileCleanupTest {
    @Test
    void aFileGoesAndOneThatCannotGoStaysWithoutAnError(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("left"), "bytes");
        FileCleanup.deleteIfPresent(file);
        assertFalse(Files.exists(file));
        assertDoesNotThrow(() -> FileCleanup.deleteIfPresent(file), "already gone is not an error");

        Path notEmpty = Files.createDirectory(dir.resolve("full"));
        Files.writeString(notEmpty.resolve("inside"), "bytes");
        assertDoesNotThrow(() -> FileCleanup.deleteIfPresent(notEmpty), "a failed delete is the caller's to leave");
        assertTrue(Files.exists(notEmpty.resolve("inside")));
    }
}
