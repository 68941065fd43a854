package dev.qache.router.control;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * One entry of the routers' Raft log: the cluster map of {@code epoch}, computed from the map of
 * {@code expectedEpoch} by the leader of {@code term}. It applies only over that map, and only if
 * the entry was logged in that term (-1: any term), so a decision made on a map that has moved on,
 * or by a leader since deposed, changes nothing. {@link #ANY_OLDER} applies over any older map: a
 * newer map a node holds, adopted (epochs only grow).
 */
public record MapChange(long term, long expectedEpoch, long epoch, byte[] mapJson) {

    /** For {@code expectedEpoch}: the change applies over any map older than its own. */
    public static final long ANY_OLDER = Long.MIN_VALUE;

    private static final int FORMAT = 1;

    public MapChange {
        mapJson = mapJson.clone();
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
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded));
            return new Reply(in.readBoolean(), in.readLong(), in.readUTF());
        }
    }

    public byte[] encode() {
        return Encoding.bytes(mapJson.length + 32, out -> {
            out.writeInt(FORMAT);
            out.writeLong(term);
            out.writeLong(expectedEpoch);
            out.writeLong(epoch);
            out.writeInt(mapJson.length);
            out.write(mapJson);
        });
    }

    public static MapChange decode(byte[] encoded) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded));
        int format = in.readInt();
        if (format != FORMAT) {
            throw new IOException("unknown map change format " + format);
        }
        long term = in.readLong();
        long expected = in.readLong();
        long epoch = in.readLong();
        byte[] map = new byte[in.readInt()];
        in.readFully(map);
        return new MapChange(term, expected, epoch, map);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MapChange other
                && other.term == term
                && other.expectedEpoch == expectedEpoch
                && other.epoch == epoch
                && java.util.Arrays.equals(other.mapJson, mapJson);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(term, expectedEpoch, epoch, java.util.Arrays.hashCode(mapJson));
    }

    @Override
    public String toString() {
        return "MapChange[term=" + term + ", " + expectedEpoch + " -> " + epoch + ", " + mapJson.length + " bytes]";
    }
}
