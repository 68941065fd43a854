package dev.qache.router.control;

/**
 * A slot the migration under way has copied, as the group's leader committed it: to shard {@code
 * target}, whose primary {@code node} was then at replication history {@code history} and offset
 * {@code offset} after the copy's last write ({@code keys} entries, {@code bytes} bytes). A leader
 * that takes over mid-way copies it again only if that primary, or its history, changed since.
 */
public record CopiedSlot(int slot, String target, String node, String history, long offset, long keys, long bytes) {

    public CopiedSlot {
        if (slot < 0) {
            throw new IllegalArgumentException("slot " + slot + " is negative");
        }
    }
}
