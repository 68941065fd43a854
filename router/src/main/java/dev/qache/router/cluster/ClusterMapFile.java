package dev.qache.router.cluster;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * A copy of the cluster map a router serves, for people and scripts to read and to seed a routers'
 * group that has no map yet (the map itself lives in the group's Raft log): one JSON file replaced
 * atomically, so a crash at any moment leaves either the old map or the new one, never a torn file.
 */
/*
 * Protocol of replace():
 * 1. Write the new map to <file>.tmp in the same directory (same file system, so the rename is
 *    atomic) and force it to disk.
 * 2. Rename <file>.tmp over <file> with ATOMIC_MOVE.
 * 3. Force the directory, so that the rename itself survives a power loss.
 * A crash before 2 leaves the old file and a stray .tmp (ignored and overwritten next time); after
 * 2 the new file is complete because it was forced in 1.
 */
public final class ClusterMapFile {

    private final Path file;
    private final Path temp;

    public ClusterMapFile(Path file) {
        this.file = file.toAbsolutePath();
        this.temp = this.file.resolveSibling(this.file.getFileName() + ".tmp");
    }

    public Path path() {
        return file;
    }

    /** The saved map, or empty when none was ever saved. */
    public Optional<ClusterMap> load() throws IOException {
        try {
            return Optional.of(ClusterMapJson.read(Files.readAllBytes(file)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * Replaces the saved map whatever its epoch: the file as a copy of the map a router serves (a
     * router restored from an old backup serves an older map until it adopts the nodes' newer one).
     */
    public synchronized void replace(ClusterMap map) throws IOException {
        Files.createDirectories(file.getParent());
        try (FileChannel out = FileChannel.open(
                temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer bytes = ByteBuffer.wrap(ClusterMapJson.write(map));
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
            out.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        }
    }
}
