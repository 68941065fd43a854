package dev.qache.router.control;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/** The binary form of what the group logs and snapshots: Java's data streams, in memory. */
final class Encoding {

    private Encoding() {}

    interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    static byte[] bytes(int sizeHint, Writer writer) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(sizeHint);
            DataOutputStream out = new DataOutputStream(bytes);
            writer.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
        }
    }
}
