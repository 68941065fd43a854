package dev.qache.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The sign-in token bucket, on a clock the test advances (burst 3, one attempt back every 10 s). */
class SignInLimiterTest {

    private static final long SECOND = 1_000_000_000L;

    record Step(String address, long atSeconds, boolean allowed, long retryAfterSeconds) {}

    @Test
    void tryAcquire_scriptedAttempts() {
        SignInLimiter limiter = new SignInLimiter(3, 10 * SECOND, 100);
        List<Step> script = List.of(
                new Step("a", 0, true, 0), // the burst
                new Step("a", 0, true, 0),
                new Step("a", 1, true, 0),
                new Step("a", 1, false, 9), // empty: the next attempt is back 10 s after the first went
                new Step("b", 1, true, 0), // another address has its own bucket
                new Step("a", 9, false, 1),
                new Step("a", 10, true, 0), // one back
                new Step("a", 10, false, 10),
                new Step("a", 45, true, 0), // refilled to the burst, never beyond it
                new Step("a", 45, true, 0),
                new Step("a", 45, true, 0),
                new Step("a", 45, false, 10));
        for (Step step : script) {
            SignInLimiter.Decision decision = limiter.tryAcquire(step.address(), step.atSeconds() * SECOND);
            assertThat(decision)
                    .as(step.toString())
                    .isEqualTo(new SignInLimiter.Decision(step.allowed(), step.retryAfterSeconds()));
        }
    }

    @Test
    void tryAcquire_manyAddresses_keepsTheTableBounded_andForgetsOnlyFullBuckets() {
        SignInLimiter limiter = new SignInLimiter(2, SECOND, 3);
        limiter.tryAcquire("busy", 0);
        limiter.tryAcquire("busy", 0);
        limiter.tryAcquire("x", 0);
        limiter.tryAcquire("y", 0);

        assertThat(limiter.tryAcquire("z", 0).allowed()).isTrue();
        assertThat(limiter.addresses()).isLessThanOrEqualTo(3);
        assertThat(limiter.tryAcquire("busy", 0).allowed())
                .as("a table that had to be cleared errs towards letting an address try")
                .isTrue();
    }
}
