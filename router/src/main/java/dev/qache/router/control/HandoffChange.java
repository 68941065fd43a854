package dev.qache.router.control;

import java.io.DataInputStream;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * An entry of the routers' Raft log that records a graceful promotion begun ({@code begun}
 * non-null) or over ({@code begun} null) for {@code shard}. Applies only in the proposing leader's
 * term; the map that promotes the shard ends its hand-off too.
 */
public record HandoffChange(
        long term, String shard, @Nullable PendingHandoff begun) implements ControlChange {

    static final int FORMAT = 4;

    public HandoffChange {
        if (begun != null && !begun.shard().equals(shard)) {
            throw new IllegalArgumentException("a hand-off of " + begun.shard() + " recorded for " + shard);
        }
    }

    @Override
    public byte[] encode() {
        return Encoding.bytes(128, out -> {
            out.writeInt(FORMAT);
            out.writeLong(term);
            out.writeUTF(shard);
            out.writeBoolean(begun != null);
            if (begun != null) {
                ControlState.writeHandoff(out, begun);
            }
        });
    }

    static HandoffChange read(DataInputStream in) throws IOException {
        long term = in.readLong();
        String shard = in.readUTF();
        PendingHandoff begun = in.readBoolean() ? ControlState.readHandoff(in) : null;
        return new HandoffChange(term, shard, begun);
    }
}
