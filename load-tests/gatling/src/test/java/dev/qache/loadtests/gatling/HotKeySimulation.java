package dev.qache.loadtests.gatling;

/** 90% GET, 10% SET with a steep Zipf(1.6): a handful of keys take most of the traffic, so one shard and one store segment run hot. */
public class HotKeySimulation extends QacheSimulation {

    public HotKeySimulation() {
        super("hot-key", 90, 1.6);
    }
}
