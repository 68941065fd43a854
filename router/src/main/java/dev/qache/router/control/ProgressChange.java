package dev.qache.router.control;

import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An entry of the routers' Raft log that records slots the migration planned at map epoch {@code
 * planEpoch} has copied (DESIGN.md, "Control plane": migration plans with committed progress). It
 * applies only while that migration is the group's (a progress of an earlier one changes nothing)
 * and only in the proposing leader's term.
 */
public record ProgressChange(long term, long planEpoch, List<CopiedSlot> slots) implements ControlChange {

    static final int FORMAT = 3;

    public ProgressChange {
        slots = List.copyOf(slots);
    }

    @Override
    public byte[] encode() {
        return Encoding.bytes(32 + slots.size() * 96, out -> {
            out.writeInt(FORMAT);
            out.writeLong(term);
            out.writeLong(planEpoch);
            out.writeInt(slots.size());
            for (CopiedSlot slot : slots) {
                ControlState.writeSlot(out, slot);
            }
        });
    }

    static ProgressChange read(DataInputStream in) throws IOException {
        long term = in.readLong();
        long planEpoch = in.readLong();
        int count = in.readInt();
        if (count < 0 || count > ControlState.MAX_SLOTS) {
            throw new IOException("a progress entry with " + count + " slots");
        }
        List<CopiedSlot> slots = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            slots.add(ControlState.readSlot(in));
        }
        return new ProgressChange(term, planEpoch, slots);
    }
}
