package dev.qache.router.control;

/**
 * A graceful promotion under way (DESIGN.md, "Control plane": pending promotions): the leader has
 * asked primary {@code from} of {@code shard} to pause its writes and hand over to replica {@code
 * to}, at {@code at} (ISO-8601, UTC). It lasts in the group's state until the map that promotes
 * {@code to} commits or the hand-off is called off, so a leader that takes over mid-way knows a
 * primary may sit paused and calls the hand-off off.
 */
public record PendingHandoff(String shard, String from, String to, String at) {}
