package dev.qache.router.control;

import dev.qache.router.cluster.Promoted;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the routers' Raft group agrees on (DESIGN.md, "Control plane"): the cluster map of the
 * newest epoch, as the JSON the map file held, and the committed progress of the migration that
 * map has under way: the epoch of the map that planned it ({@code planEpoch}, -1 when none) and
 * the slots copied so far; and the failover history, each shard's last promotion with the epoch
 * of the map that made it (at most {@link #MAX_PROMOTIONS} shards, the oldest dropped); and the
 * graceful promotions under way ({@code handoffs}, by shard). Immutable; {@link #EMPTY} before the
 * first map. The group's log is a
 * sequence of {@link ControlChange}s, and this is what applying them in order leaves.
 */
public record ControlState(
        long epoch,
        byte[] mapJson,
        long planEpoch,
        Map<Integer, CopiedSlot> copied,
        Map<String, Promoted> promotions,
        Map<String, PendingHandoff> handoffs) {

    /** Before the first map: epoch -1, no map. */
    public static final ControlState EMPTY = new ControlState(-1, new byte[0]);

    /** The most slots a progress names (the ring's slot count is 4096; room to spare). */
    static final int MAX_SLOTS = 1 << 16;

    /** The most shards whose last promotion the state keeps. */
    static final int MAX_PROMOTIONS = 256;

    /** The first format: a map alone. */
    private static final int FORMAT_MAP_ONLY = 1;

    /** The second: and a migration's progress and the failover history. */
    private static final int FORMAT_WITHOUT_HANDOFFS = 2;

    private static final int FORMAT = 3;

    public ControlState {
        mapJson = mapJson.clone();
        copied = java.util.Collections.unmodifiableMap(new TreeMap<>(copied));
        promotions = java.util.Collections.unmodifiableMap(new TreeMap<>(promotions));
        handoffs = java.util.Collections.unmodifiableMap(new TreeMap<>(handoffs));
    }

    /** A state with no hand-off under way. */
    public ControlState(
            long epoch,
            byte[] mapJson,
            long planEpoch,
            Map<Integer, CopiedSlot> copied,
            Map<String, Promoted> promotions) {
        this(epoch, mapJson, planEpoch, copied, promotions, Map.of());
    }

    /** A state with no migration under way and no promotion recorded. */
    public ControlState(long epoch, byte[] mapJson) {
        this(epoch, mapJson, -1, Map.of());
    }

    /** A state with no promotion recorded. */
    public ControlState(long epoch, byte[] mapJson, long planEpoch, Map<Integer, CopiedSlot> copied) {
        this(epoch, mapJson, planEpoch, copied, Map.of());
    }

    @Override
    public byte[] mapJson() {
        return mapJson.clone();
    }

    public boolean isEmpty() {
        return epoch < 0;
    }

    /** What the change leaves: the new state if the change applies here, else this state. */
    public MapChange.Outcome apply(ControlChange change, long entryTerm) {
        if (change.term() >= 0 && change.term() != entryTerm) {
            // Proposed by a leader of another term (a deposed leader's command, carried to the
            // new leader by its client's retry): only the leader that made the decision may commit it.
            return refused("proposed in term " + change.term() + ", logged in " + entryTerm);
        }
        return switch (change) {
            case MapChange map -> applyMap(map);
            case ProgressChange progress -> applyProgress(progress);
            case HandoffChange handoff -> applyHandoff(handoff);
        };
    }

    private MapChange.Outcome applyMap(MapChange change) {
        if (change.epoch() <= epoch) {
            return refused("epoch " + change.epoch() + " is not newer than " + epoch);
        }
        if (change.expectedEpoch() != MapChange.ANY_OLDER && change.expectedEpoch() != epoch) {
            return refused("computed from epoch " + change.expectedEpoch() + ", but the map is at " + epoch);
        }
        // A migration's progress lasts while its slots are in flight: through failovers' maps, up
        // to the map that commits or aborts it. A map with slots in flight after none plans one.
        long plan = !change.moving() ? -1 : planEpoch >= 0 ? planEpoch : change.epoch();
        Map<Integer, CopiedSlot> progress = plan >= 0 && plan == planEpoch ? copied : Map.of();
        Map<String, Promoted> history = promotions;
        Map<String, PendingHandoff> pending = handoffs;
        if (change.promotion() != null) {
            // The promotion a hand-off led to ends it.
            pending = new TreeMap<>(handoffs);
            pending.remove(change.promotion().shard());
            TreeMap<String, Promoted> more = new TreeMap<>(promotions);
            more.put(change.promotion().shard(), change.promotion().atEpoch(change.epoch()));
            while (more.size() > MAX_PROMOTIONS) {
                more.values().stream()
                        .min(java.util.Comparator.comparingLong(Promoted::epoch))
                        .ifPresent(oldest -> more.remove(oldest.shard()));
            }
            history = more;
        }
        return new MapChange.Outcome(
                true, new ControlState(change.epoch(), change.mapJson(), plan, progress, history, pending), "");
    }

    private MapChange.Outcome applyHandoff(HandoffChange change) {
        Map<String, PendingHandoff> pending = new TreeMap<>(handoffs);
        if (change.begun() == null) {
            pending.remove(change.shard());
        } else {
            pending.put(change.shard(), change.begun());
        }
        return new MapChange.Outcome(
                true, new ControlState(epoch, mapJson, planEpoch, copied, promotions, pending), "");
    }

    private MapChange.Outcome applyProgress(ProgressChange change) {
        if (planEpoch < 0 || change.planEpoch() != planEpoch) {
            return refused("progress of the migration planned at epoch " + change.planEpoch() + ", but "
                    + (planEpoch < 0 ? "none is under way" : "the one under way was planned at " + planEpoch));
        }
        Map<Integer, CopiedSlot> progress = new TreeMap<>(copied);
        for (CopiedSlot slot : change.slots()) {
            progress.put(slot.slot(), slot);
        }
        return new MapChange.Outcome(
                true, new ControlState(epoch, mapJson, planEpoch, progress, promotions, handoffs), "");
    }

    private MapChange.Outcome refused(String why) {
        return new MapChange.Outcome(false, this, why);
    }

    /** The snapshot's bytes. */
    public byte[] encode() {
        return Encoding.bytes(mapJson.length + 32 + copied.size() * 96, out -> {
            out.writeInt(FORMAT);
            out.writeLong(epoch);
            out.writeInt(mapJson.length);
            out.write(mapJson);
            out.writeLong(planEpoch);
            out.writeInt(copied.size());
            for (CopiedSlot slot : copied.values()) {
                writeSlot(out, slot);
            }
            out.writeInt(promotions.size());
            for (Promoted promotion : promotions.values()) {
                writePromotion(out, promotion);
            }
            out.writeInt(handoffs.size());
            for (PendingHandoff handoff : handoffs.values()) {
                writeHandoff(out, handoff);
            }
        });
    }

    public static ControlState decode(byte[] encoded) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded));
        int format = in.readInt();
        if (format != FORMAT && format != FORMAT_WITHOUT_HANDOFFS && format != FORMAT_MAP_ONLY) {
            throw new IOException("unknown control state format " + format);
        }
        long epoch = in.readLong();
        byte[] map = new byte[in.readInt()];
        in.readFully(map);
        if (format == FORMAT_MAP_ONLY) {
            return new ControlState(epoch, map);
        }
        long planEpoch = in.readLong();
        int count = in.readInt();
        if (count < 0 || count > MAX_SLOTS) {
            throw new IOException("a control state with " + count + " copied slots");
        }
        Map<Integer, CopiedSlot> copied = new TreeMap<>();
        for (int i = 0; i < count; i++) {
            CopiedSlot slot = readSlot(in);
            copied.put(slot.slot(), slot);
        }
        int promoted = in.readInt();
        if (promoted < 0 || promoted > MAX_PROMOTIONS) {
            throw new IOException("a control state with " + promoted + " promotions");
        }
        Map<String, Promoted> promotions = new TreeMap<>();
        for (int i = 0; i < promoted; i++) {
            Promoted promotion = readPromotion(in);
            promotions.put(promotion.shard(), promotion);
        }
        Map<String, PendingHandoff> handoffs = new TreeMap<>();
        if (format == FORMAT) {
            int pending = in.readInt();
            if (pending < 0 || pending > MAX_PROMOTIONS) {
                throw new IOException("a control state with " + pending + " hand-offs");
            }
            for (int i = 0; i < pending; i++) {
                PendingHandoff handoff = readHandoff(in);
                handoffs.put(handoff.shard(), handoff);
            }
        }
        return new ControlState(epoch, map, planEpoch, copied, promotions, handoffs);
    }

    static void writeHandoff(DataOutputStream out, PendingHandoff handoff) throws IOException {
        out.writeUTF(handoff.shard());
        out.writeUTF(handoff.from());
        out.writeUTF(handoff.to());
        out.writeUTF(handoff.at());
    }

    static PendingHandoff readHandoff(DataInputStream in) throws IOException {
        return new PendingHandoff(in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF());
    }

    static void writePromotion(DataOutputStream out, Promoted promotion) throws IOException {
        out.writeUTF(promotion.shard());
        out.writeUTF(promotion.at());
        out.writeUTF(promotion.from());
        out.writeUTF(promotion.to());
        out.writeLong(promotion.epoch());
        out.writeUTF(promotion.reason());
    }

    static Promoted readPromotion(DataInputStream in) throws IOException {
        return new Promoted(in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readLong(), in.readUTF());
    }

    static void writeSlot(DataOutputStream out, CopiedSlot slot) throws IOException {
        out.writeInt(slot.slot());
        out.writeUTF(slot.target());
        out.writeUTF(slot.node());
        out.writeUTF(slot.history());
        out.writeLong(slot.offset());
        out.writeLong(slot.keys());
        out.writeLong(slot.bytes());
    }

    static CopiedSlot readSlot(DataInputStream in) throws IOException {
        int slot = in.readInt();
        if (slot < 0) {
            throw new IOException("slot " + slot + " is negative");
        }
        return new CopiedSlot(
                slot, in.readUTF(), in.readUTF(), in.readUTF(), in.readLong(), in.readLong(), in.readLong());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ControlState other
                && other.epoch == epoch
                && other.planEpoch == planEpoch
                && other.copied.equals(copied)
                && other.promotions.equals(promotions)
                && other.handoffs.equals(handoffs)
                && Arrays.equals(other.mapJson, mapJson);
    }

    @Override
    public int hashCode() {
        return (Long.hashCode(epoch) * 31 + Arrays.hashCode(mapJson)) * 31 + Long.hashCode(planEpoch);
    }

    @Override
    public String toString() {
        return "ControlState[epoch=" + epoch + ", " + mapJson.length + " bytes"
                + (planEpoch >= 0 ? ", migration of epoch " + planEpoch + ": " + copied.size() + " slots copied" : "")
                + "]";
    }
}
