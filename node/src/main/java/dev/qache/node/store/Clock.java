package dev.qache.node.store;

/**
 * The source of time for expiry and recency. Wall-clock milliseconds, because expiry times are
 * absolute and travel with their keys between nodes; tests inject a fake one and advance it
 * instead of sleeping.
 */
@FunctionalInterface
public interface Clock {

    Clock SYSTEM = System::currentTimeMillis;

    long currentTimeMillis();
}
