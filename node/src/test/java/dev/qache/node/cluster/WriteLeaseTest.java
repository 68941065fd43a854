package dev.qache.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The write lease's rules, as scripted tables: each step issues a nonce, grants (naming the last
 * nonce issued), carries over or asks at a time (milliseconds on the node's monotonic clock) and
 * says what the lease must answer.
 */
class WriteLeaseTest {

    private static final long MS = 1_000_000L;

    /** One step: a grant (epoch, history, duration), a carry-over, or a question at {@code atMillis}. */
    private record Step(String what, long atMillis, long epoch, String history, long durationMillis, boolean expect) {
        static Step grant(long epoch, String history, long duration, boolean taken) {
            return new Step("grant", 0, epoch, history, duration, taken);
        }

        static Step valid(long at, long epoch, boolean expect) {
            return new Step("valid", at, epoch, "", 0, expect);
        }

        static Step issue(long at) {
            return new Step("issue", at, 0, "", 0, true);
        }

        static Step staleNonce(long epoch, long duration) {
            return new Step("stale", 0, epoch, "h1", duration, false);
        }

        static Step carry(long from, long to) {
            return new Step("carry", 0, from, Long.toString(to), 0, true);
        }
    }

    /** The node is at epoch 5 streaming history "h1" unless a step says otherwise. */
    private static void run(List<Step> steps) {
        WriteLease lease = new WriteLease();
        long nonce = -1;
        long first = -1;
        for (Step step : steps) {
            switch (step.what) {
                case "issue" -> {
                    nonce = lease.issue(step.atMillis * MS);
                    first = first < 0 ? nonce : first;
                }
                case "grant" ->
                    assertThat(lease.grant(nonce, step.epoch, step.history, step.durationMillis, 5, "h1"))
                            .as("grant of epoch %d for %s", step.epoch, step.history)
                            .isEqualTo(step.expect);
                case "stale" ->
                    assertThat(lease.grant(first, step.epoch, step.history, step.durationMillis, 5, "h1"))
                            .as("grant naming the first nonce")
                            .isEqualTo(step.expect);
                case "valid" ->
                    assertThat(lease.valid(step.atMillis * MS, step.epoch))
                            .as("valid at %d ms at epoch %d", step.atMillis, step.epoch)
                            .isEqualTo(step.expect);
                case "carry" -> lease.carryOver(step.epoch, Long.parseLong(step.history));
                default -> throw new IllegalArgumentException(step.what);
            }
        }
    }

    @Test
    void noGrant_noWrites() {
        run(List.of(Step.valid(0, 5, false), Step.valid(1_000, -1, false)));
    }

    @Test
    void grant_runsForItsDuration_thenLapses() {
        run(List.of(
                Step.issue(100),
                Step.grant(5, "h1", 600, true),
                Step.valid(100, 5, true),
                Step.valid(699, 5, true),
                Step.valid(700, 5, false),
                Step.valid(5_000, 5, false)));
    }

    @Test
    void renewal_extendsFromItsOwnNonce() {
        run(List.of(
                Step.issue(0),
                Step.grant(5, "h1", 600, true),
                Step.issue(500),
                Step.grant(5, "h1", 600, true),
                Step.valid(1_099, 5, true),
                Step.valid(1_100, 5, false)));
    }

    @Test
    void aShorterGrant_neverShortensTheLeaseInForce() {
        run(List.of(
                Step.issue(0),
                Step.grant(5, "h1", 600, true),
                Step.issue(10),
                Step.grant(5, "h1", 100, true),
                Step.valid(500, 5, true)));
    }

    @Test
    void grantForAnotherEpoch_isIgnored() {
        // A delayed probe of an older map, or one from a router that has a newer map than this node.
        run(List.of(
                Step.issue(0),
                Step.grant(4, "h1", 600, false),
                Step.issue(0),
                Step.grant(6, "h1", 600, false),
                Step.valid(10, 5, false),
                Step.valid(10, 4, false)));
    }

    @Test
    void grantForAnotherHistory_isIgnored() {
        // The router saw this address stream h0: this process restarted empty since (now h1).
        run(List.of(Step.issue(0), Step.grant(5, "h0", 600, false), Step.valid(10, 5, false)));
    }

    @Test
    void grantForAnyHistory_isTaken() {
        // The map handed to a node the router has just promoted.
        run(List.of(Step.issue(0), Step.grant(5, WriteLease.ANY_HISTORY, 600, true), Step.valid(10, 5, true)));
    }

    @Test
    void aZeroOrNegativeDuration_grantsNothing() {
        run(List.of(
                Step.issue(0),
                Step.grant(5, "h1", 0, false),
                Step.issue(0),
                Step.grant(5, "h1", -5, false),
                Step.valid(0, 5, false)));
    }

    @Test
    void aLeaseIsValidOnlyAtItsEpoch() {
        // A map change to epoch 6 that does not keep this node primary leaves no lease for 6.
        run(List.of(Step.issue(0), Step.grant(5, "h1", 600, true), Step.valid(10, 6, false)));
    }

    @Test
    void carryOver_keepsTheLeaseRunningAtTheNextEpoch_untilItsOwnEnd() {
        run(List.of(
                Step.issue(0),
                Step.grant(5, "h1", 600, true),
                Step.carry(5, 6),
                Step.valid(10, 6, true),
                Step.valid(10, 5, false),
                Step.valid(600, 6, false)));
    }

    @Test
    void leaseRunsFromWhenTheNonceWasIssued_notFromWhenTheGrantArrived() {
        // The grant spent 400 ms in the network: its lease counts from the nonce, at 0.
        run(List.of(
                Step.issue(0), Step.grant(5, "h1", 600, true), Step.valid(599, 5, true), Step.valid(600, 5, false)));
    }

    @Test
    void aGrantNamingANonceNoLongerRemembered_grantsNothing() {
        // A grant delivered long after it was sent (a healed partition): its nonce is forgotten.
        List<Step> steps = new java.util.ArrayList<>();
        steps.add(Step.issue(0));
        for (int i = 1; i <= 16; i++) {
            steps.add(Step.issue(i));
        }
        steps.add(Step.staleNonce(5, 600));
        steps.add(Step.valid(20, 5, false));
        run(steps);
    }

    @Test
    void aGrantNamingNoNonce_grantsNothing() {
        run(List.of(Step.grant(5, "h1", 600, false), Step.valid(0, 5, false)));
    }

    @Test
    void carryOver_fromAnEpochWithoutLease_grantsNothing() {
        run(List.of(Step.issue(0), Step.grant(5, "h1", 600, true), Step.carry(4, 6), Step.valid(10, 6, false)));
    }
}
