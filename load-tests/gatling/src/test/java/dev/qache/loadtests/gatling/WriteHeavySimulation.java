package dev.qache.loadtests.gatling;

/** 50% GET, 50% SET over Zipf(0.99): replication and the write path under pressure. */
public class WriteHeavySimulation extends QacheSimulation {

    public WriteHeavySimulation() {
        super("write-heavy", 50, 0.99);
    }
}
