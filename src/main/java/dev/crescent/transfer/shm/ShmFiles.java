package dev.crescent.transfer.shm;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The one rule for segment files in shared memory, for the worker that creates them and the shm transport that maps
 * them: a file named {@code crescent-<segment>.<pid>} directly in a shared-memory directory, a regular file (never
 * a link), readable only by its owner (and a configured group). A segment's endpoint names its file, and an
 * endpoint comes from whoever mounted the segment, so the transport maps only a file that passes {@link #verify}
 * for the very segment the request names: never any other file of the host.
 */
public final class ShmFiles {
    /** Where segment files may live unless configured otherwise: POSIX shared memory and 2 MiB huge pages. */
    public static final Set<Path> DEFAULT_DIRECTORIES = Set.of(Path.of("/dev/shm"), Path.of("/dev/hugepages"));

    private static final String PREFIX = "crescent-";
    private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");

    private ShmFiles() {}

    /** The file of {@code segment} created by process {@code pid} in {@code directory}. */
    public static Path file(Path directory, String segment, long pid) {
        return directory.resolve(namePrefix(segment) + pid);
    }

    /** What every file of {@code segment} is named before its pid: {@code crescent-<segment>.} */
    private static String namePrefix(String segment) {
        return PREFIX + UNSAFE.matcher(segment).replaceAll("_") + ".";
    }

    /** Whether {@code file} is a segment file by its name (any segment, any process). */
    public static boolean isSegmentFile(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(PREFIX) && name.lastIndexOf('.') > PREFIX.length();
    }

    /** Whether {@code file} is a file of {@code segment} by its name (created by any process). */
    public static boolean isFileOf(Path file, String segment) {
        String name = file.getFileName().toString();
        String prefix = namePrefix(segment);
        return name.startsWith(prefix)
                && name.length() > prefix.length()
                && name.substring(prefix.length()).chars().allMatch(Character::isDigit);
    }

    /** The pid in a segment file's name, or -1. */
    public static long pid(Path file) {
        String name = file.getFileName().toString();
        String pid = name.substring(name.lastIndexOf('.') + 1);
        return !pid.isEmpty() && pid.chars().allMatch(Character::isDigit) ? Long.parseLong(pid) : -1;
    }

    /**
     * Creates a segment file that only its owner can read and write, or its owner and {@code group} when one is
     * named (same-host clients of another user that map segments directly).
     */
    public static void create(Path file, String group) throws IOException {
        Set<PosixFilePermission> mode = PosixFilePermissions.fromString(group == null ? "rw-------" : "rw-rw----");
        FileAttribute<Set<PosixFilePermission>> attribute = PosixFilePermissions.asFileAttribute(mode);
        Files.createFile(file, attribute);
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (group != null) {
            GroupPrincipal principal =
                    file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
            view.setGroup(principal);
        }
        view.setPermissions(mode); // the mode the file was created with is also cut by the process's umask
    }

    /**
     * Creates a file under {@link #create}'s rule, sizes it to {@link #fileBytes} for {@code bytes} and maps all of
     * it for reading and writing into {@code arena}: what the worker's segments and the master's request rings are
     * made of. The mapping may be longer than {@code bytes}: whatever lies at its end is found from its end.
     */
    public static MemorySegment createMapped(Path file, String group, long bytes, Arena arena) throws IOException {
        create(file, group);
        long length = fileBytes(file.getParent(), bytes);
        try (FileChannel channel =
                FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            setLength(file, channel, length);
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, length, arena);
        }
    }

    /**
     * How long a file holding {@code bytes} is in {@code directory}: rounded up to the page of the file system
     * there, since hugetlbfs sizes and maps its files in whole huge pages only (2 MiB or 1 GiB; 4 KiB on tmpfs).
     */
    public static long fileBytes(Path directory, long bytes) throws IOException {
        long page = Files.getFileStore(directory).getBlockSize(); // statfs's block size: the huge page on hugetlbfs
        return page > 1 ? Math.ceilDiv(bytes, page) * page : bytes;
    }

    /**
     * Sets the length of {@code file}, open as {@code channel}, with {@code ftruncate}: its pages are not written, and
     * hugetlbfs takes no other way (it refuses writes). The length is set through the path; the channel, opened
     * without following links, then shows it was the same file.
     */
    public static void setLength(Path file, FileChannel channel, long length) throws IOException {
        try (RandomAccessFile sized = new RandomAccessFile(file.toFile(), "rw")) {
            sized.setLength(length);
        }
        if (channel.size() != length) {
            throw new IOException(file + " was replaced while it was being sized");
        }
    }

    /**
     * Checks that {@code endpointFile} is the segment file of {@code segment} in one of {@code directories}: the name
     * that segment's files bear, directly in an allowed directory, a regular file and no link.
     *
     * @return the path to map
     * @throws StoreException TRANSFER_FAIL naming what is wrong
     */
    public static Path verify(String endpointFile, String segment, Set<Path> directories) {
        Path file = Path.of(endpointFile);
        if (!file.isAbsolute() || !file.normalize().equals(file) || file.getParent() == null) {
            throw refused(endpointFile, "not an absolute, normal path");
        }
        if (!directories.contains(file.getParent())) {
            throw refused(endpointFile, "not in a shared-memory directory " + directories);
        }
        String prefix = namePrefix(segment);
        String name = file.getFileName().toString();
        if (!name.startsWith(prefix) || pid(file) < 0 || name.length() == prefix.length()) {
            throw refused(endpointFile, "not a file of segment '" + segment + "'");
        }
        try {
            BasicFileAttributes attributes =
                    Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!attributes.isRegularFile()) {
                throw refused(endpointFile, "not a regular file");
            }
        } catch (IOException e) {
            throw refused(endpointFile, e.toString());
        }
        return file;
    }

    /**
     * Maps the whole of a verified segment file for reading and writing into {@code arena}, never following a link;
     * the arena is closed when it cannot be.
     *
     * @throws StoreException TRANSFER_FAIL when the file cannot be mapped
     */
    public static MemorySegment map(Path verified, Arena arena) {
        try (FileChannel channel = FileChannel.open(
                verified, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size(), arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw new StoreException(ErrorCode.TRANSFER_FAIL, "cannot map shared segment " + verified + ": " + e, e);
        }
    }

    private static StoreException refused(String file, String why) {
        return new StoreException(ErrorCode.TRANSFER_FAIL, "shared segment file " + file + " refused: " + why);
    }
}
