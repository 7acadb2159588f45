package dev.crescent.transfer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This machine's identity for "same host" decisions: the kernel boot id, so a reboot is a new host. */
public final class HostId {
    private static final String CURRENT = read();

    private HostId() {}

    public static String current() {
        return CURRENT;
    }

    private static String read() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
        } catch (IOException | RuntimeException e) {
            return "unknown-" + ProcessHandle.current().pid();
        }
    }
}
