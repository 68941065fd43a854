package dev.qache.router.control;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * One entry of the routers' Raft log: a new cluster map ({@link MapChange}), the progress of the
 * migration under way ({@link ProgressChange}), or a graceful promotion begun or over ({@link
 * HandoffChange}). Each names the term of the leader that proposed it
 * (-1: any), and applies only if logged in that term, so a deposed leader's decision changes
 * nothing. The encoded form starts with a format number that tells the kinds apart.
 */
public sealed interface ControlChange permits MapChange, ProgressChange, HandoffChange {

    long term();

    byte[] encode();

    static ControlChange decode(byte[] encoded) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded));
        int format = in.readInt();
        return switch (format) {
            case MapChange.FORMAT_WITHOUT_MOVING, MapChange.FORMAT -> MapChange.read(format, in);
            case ProgressChange.FORMAT -> ProgressChange.read(in);
            case HandoffChange.FORMAT -> HandoffChange.read(in);
            default -> throw new IOException("unknown control change format " + format);
        };
    }
}
