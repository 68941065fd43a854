package dev.qache.router.control;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * What the routers' Raft group agrees on (DESIGN.md, "Control plane"): the cluster map of the
 * newest epoch, as the JSON the map file held. Immutable; {@link #EMPTY} before the first map. The
 * group's log is a sequence of {@link MapChange}s, and this is what applying them in order leaves.
 */
public record ControlState(long epoch, byte[] mapJson) {

    /** Before the first map: epoch -1, no map. */
    public static final ControlState EMPTY = new ControlState(-1, new byte[0]);

    private static final int FORMAT = 1;

    public ControlState {
        mapJson = mapJson.clone();
    }

    @Override
    public byte[] mapJson() {
        return mapJson.clone();
    }

    public boolean isEmpty() {
        return epoch < 0;
    }

    /** What the change leaves: the new map if the change applies here, else this state. */
    public MapChange.Outcome apply(MapChange change, long entryTerm) {
        if (change.term() >= 0 && change.term() != entryTerm) {
            // Proposed by a leader of another term (a deposed leader's command, carried to the
            // new leader by its client's retry): only the leader that made the decision may commit it.
            return new MapChange.Outcome(false, this, "proposed in term " + change.term() + ", logged in " + entryTerm);
        }
        if (change.epoch() <= epoch) {
            return new MapChange.Outcome(false, this, "epoch " + change.epoch() + " is not newer than " + epoch);
        }
        if (change.expectedEpoch() != MapChange.ANY_OLDER && change.expectedEpoch() != epoch) {
            return new MapChange.Outcome(
                    false, this, "computed from epoch " + change.expectedEpoch() + ", but the map is at " + epoch);
        }
        return new MapChange.Outcome(true, new ControlState(change.epoch(), change.mapJson()), "");
    }

    /** The snapshot's bytes. */
    public byte[] encode() {
        return Encoding.bytes(mapJson.length + 16, out -> {
            out.writeInt(FORMAT);
            out.writeLong(epoch);
            out.writeInt(mapJson.length);
            out.write(mapJson);
        });
    }

    public static ControlState decode(byte[] encoded) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded));
        int format = in.readInt();
        if (format != FORMAT) {
            throw new IOException("unknown control state format " + format);
        }
        long epoch = in.readLong();
        byte[] map = new byte[in.readInt()];
        in.readFully(map);
        return new ControlState(epoch, map);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ControlState other && other.epoch == epoch && Arrays.equals(other.mapJson, mapJson);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(epoch) * 31 + Arrays.hashCode(mapJson);
    }

    @Override
    public String toString() {
        return "ControlState[epoch=" + epoch + ", " + mapJson.length + " bytes]";
    }
}
