package dev.qache.protocol.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Where one token setting's {@link BearerTokens} come from: the setting's value itself
 * ({@code qache.cluster.token=a,b}), or a file named by its {@code -file} twin
 * ({@code qache.cluster.token-file=/etc/qache/cluster-token}) that is read again every
 * reload interval, so tokens can be rotated on a running cluster without a restart.
 *
 * <p>Under failure: a file that cannot be read, or that holds no token (a half-written file, say),
 * leaves the tokens as they were and counts a failure ({@link #failures()}); it never locks every
 * caller out. Write the file whole and rename it into place. A file that is missing or empty at
 * start-up stops the process from starting.
 */
public final class TokenSource implements AutoCloseable {

    private static final ScheduledExecutorService RELOADER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "qache-token-reload");
        thread.setDaemon(true);
        return thread;
    });

    private final String setting;
    private final @Nullable Path file;
    private volatile BearerTokens current;
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile @Nullable ScheduledFuture<?> watch;

    private TokenSource(String setting, @Nullable Path file, BearerTokens initial) {
        this.setting = setting;
        this.file = file;
        this.current = initial;
    }

    /** Tokens that never change. */
    public static TokenSource fixed(String setting, BearerTokens tokens) {
        return new TokenSource(setting, null, tokens);
    }

    /**
     * The tokens of {@code setting}: from its value, from its file, or none when neither is set.
     *
     * @throws IllegalArgumentException when both are set, or the file is unreadable or holds no token
     */
    public static TokenSource of(String setting, Optional<String> value, Optional<Path> file) {
        if (value.isPresent() && !value.get().isBlank() && file.isPresent()) {
            throw new IllegalArgumentException(
                    "set " + setting + " or " + setting + "-file, not both: which one wins would be a guess");
        }
        if (file.isPresent()) {
            try {
                BearerTokens tokens = read(file.get());
                if (tokens.isEmpty()) {
                    throw new IllegalArgumentException(setting + "-file " + file.get() + " holds no token");
                }
                return new TokenSource(setting, file.get(), tokens);
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        setting + "-file " + file.get() + " cannot be read: " + e.getMessage(), e);
            }
        }
        return new TokenSource(setting, null, BearerTokens.parse(value.orElse(null)));
    }

    public BearerTokens current() {
        return current;
    }

    public String setting() {
        return setting;
    }

    /** Times the file was read and gave other tokens than before. */
    public long reloads() {
        return reloads.get();
    }

    /** Times the file could not be read or held no token (the tokens stayed as they were). */
    public long failures() {
        return failures.get();
    }

    /**
     * Reads the file again (a no-op for fixed tokens) and takes its tokens if they differ.
     *
     * @param warn told why a read was refused, for the log
     * @return whether the tokens changed
     */
    public synchronized boolean reload(Consumer<String> warn) {
        if (file == null) {
            return false;
        }
        BearerTokens read;
        try {
            read = read(file);
        } catch (IOException | IllegalArgumentException e) {
            failures.incrementAndGet();
            warn.accept(setting + "-file " + file + " could not be read (" + e.getMessage()
                    + "); the tokens stay as they were");
            return false;
        }
        if (read.isEmpty()) {
            failures.incrementAndGet();
            warn.accept(setting + "-file " + file + " holds no token; the tokens stay as they were");
            return false;
        }
        if (read.equals(current)) {
            return false;
        }
        current = read;
        reloads.incrementAndGet();
        return true;
    }

    /**
     * Reloads every {@code interval} on a shared daemon thread until {@link #close()}; no-op for
     * fixed tokens. {@code info} hears of each change, {@code warn} of each refused read.
     */
    public synchronized TokenSource watch(Duration interval, Consumer<String> info, Consumer<String> warn) {
        if (file != null && watch == null) {
            long millis = Math.max(1, interval.toMillis());
            watch = RELOADER.scheduleWithFixedDelay(
                    () -> {
                        if (reload(warn)) {
                            info.accept(setting + "-file " + file + " reloaded: " + current);
                        }
                    },
                    millis,
                    millis,
                    TimeUnit.MILLISECONDS);
        }
        return this;
    }

    @Override
    public synchronized void close() {
        ScheduledFuture<?> running = watch;
        if (running != null) {
            running.cancel(false);
            watch = null;
        }
    }

    private static BearerTokens read(Path file) throws IOException {
        return BearerTokens.parse(Files.readString(file, StandardCharsets.UTF_8));
    }
}
