package dev.qache.router.proxy;

import dev.qache.protocol.Fencing;
import dev.qache.protocol.SlotCopy;
import dev.qache.router.routing.Routing;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import org.jspecify.annotations.Nullable;

/** A node's answer: status, headers and the whole body. */
public record NodeAnswer(int status, MultiMap headers, Buffer body) {

    public @Nullable String header(CharSequence name) {
        return headers.get(name);
    }

    /** The answer as routing reads it; a 421's body is parsed for the epoch and owner it names. */
    public Routing.Reply reply() {
        long epoch = -1;
        String owner = null;
        if (status == 421) {
            try {
                io.vertx.core.json.JsonObject problem = body.toJsonObject();
                if (problem.getValue("epoch") instanceof Number n) {
                    epoch = n.longValue();
                }
                if (problem.getValue("owner") instanceof String address && address.lastIndexOf(':') > 0) {
                    owner = address;
                }
            } catch (RuntimeException notJson) {
                // A 421 without a problem body names nothing.
            }
        }
        return new Routing.Reply(status, header(Fencing.REFUSED), header(SlotCopy.IMPORT), epoch, owner);
    }
}
