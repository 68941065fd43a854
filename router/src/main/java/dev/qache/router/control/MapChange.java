package dev.qache.router.control;

import dev.qache.router.cluster.Promoted;
import java.io.DataInputStream;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * One entry of the routers' Raft log: the cluster map of {@code epoch}, computed from the map of
 * {@code expectedEpoch} by the leader of {@code term}. It applies only over that map, and only if
 * the entry was logged in that term (-1: any term), so a decision made on a map that has moved on,
 * or by a leader since deposed, changes nothing. {@link #ANY_OLDER} applies over any older map: a
 * newer map a node holds, adopted (epochs only grow). {@code moving}: the map has slots in flight
 * (a migration under way), whose committed progress the group keeps until a map without them.
 * {@code promotion}: the promotion this map makes, if it makes one (the group's failover history).
 */
public record MapChange(
        long term,
        long expectedEpoch,
        long epoch,
        byte[] mapJson,
        boolean moving,
        @Nullable Promoted promotion) implements ControlChange {

    /** For {@code expectedEpoch}: the change applies over any map older than its own. */
    public static final long ANY_OLDER = Long.MIN_VALUE;

    /** The first format, before migrations had committed progress: read as not moving. */
    static final int FORMAT_WITHOUT_MOVING = 1;

    static final int FORMAT = 2;

    public MapChange {
        mapJson = mapJson.clone();
    }

    /** A change to a map with no slots in flight. */
    public MapChange(long term, long expectedEpoch, long epoch, byte[] mapJson) {
        this(term, expectedEpoch, epoch, mapJson, false);
    }

    /** A change that promotes no replica. */
    public MapChange(long term, long expectedEpoch, long epoch, byte[] mapJson, boolean moving) {
        this(term, expectedEpoch, epoch, mapJson, moving, null);
    }

    @Override
    public byte[] mapJson() {
        return mapJson.clone();
    }

    /**
     * What applying a change came to: whether it applied, the state after it (the state before, if
     * it did not), and why not.
     */
    public record Outcome(boolean applied, ControlState state, String reason) {

        byte[] encode() {
            return Encoding.bytes(32, out -> {
                out.writeBoolean(applied);
                out.writeLong(state.epoch());
                out.writeUTF(reason);
            });
        }
    }

    /** The outcome as the proposer learns it: whether it applied, the epoch then, why not. */
    public record Reply(boolean applied, long epoch, String reason) {

        static Reply decode(byte[] encoded) throws IOException {
            DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(encoded));
            return new Reply(in.readBoolean(), in.readLong(), in.readUTF());
        }
    }

    @Override
    public byte[] encode() {
        return Encoding.bytes(mapJson.length + 32, out -> {
            out.writeInt(FORMAT);
            out.writeLong(term);
            out.writeLong(expectedEpoch);
            out.writeLong(epoch);
            out.writeInt(mapJson.length);
            out.write(mapJson);
            out.writeBoolean(moving);
            out.writeBoolean(promotion != null);
            if (promotion != null) {
                ControlState.writePromotion(out, promotion);
            }
        });
    }

    public static MapChange decode(byte[] encoded) throws IOException {
        if (ControlChange.decode(encoded) instanceof MapChange change) {
            return change;
        }
        throw new IOException("not a map change");
    }

    /** The rest of a change after its format number. */
    static MapChange read(int format, DataInputStream in) throws IOException {
        long term = in.readLong();
        long expected = in.readLong();
        long epoch = in.readLong();
        byte[] map = new byte[in.readInt()];
        in.readFully(map);
        if (format == FORMAT_WITHOUT_MOVING) {
            return new MapChange(term, expected, epoch, map);
        }
        boolean moving = in.readBoolean();
        Promoted promotion = in.readBoolean() ? ControlState.readPromotion(in) : null;
        return new MapChange(term, expected, epoch, map, moving, promotion);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MapChange other
                && other.term == term
                && other.expectedEpoch == expectedEpoch
                && other.epoch == epoch
                && other.moving == moving
                && java.util.Objects.equals(other.promotion, promotion)
                && java.util.Arrays.equals(other.mapJson, mapJson);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(
                term, expectedEpoch, epoch, moving, promotion, java.util.Arrays.hashCode(mapJson));
    }

    @Override
    public String toString() {
        return "MapChange[term=" + term + ", " + expectedEpoch + " -> " + epoch + ", " + mapJson.length + " bytes"
                + (moving ? ", moving" : "") + (promotion != null ? ", promotes " + promotion.to() : "") + "]";
    }
}
