package dev.qache.loadtests.gatling;

/** 90% GET, 10% SET over a Zipf(0.99) key space: the everyday mix. */
public class SteadySimulation extends QacheSimulation {

    public SteadySimulation() {
        super("steady", 90, 0.99);
    }
}
