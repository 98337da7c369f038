package dev.gemma4j.engine;

import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Config.LayerConfig;
import dev.gemma4j.model.Gemma4Math;

/**
 * How far back a session can go when its sliding-window layers keep a ring of {@code capacity} positions
 * ({@code pos % capacity}), for every backend that stores them so. Global layers keep every position; a
 * sliding layer's query at {@code p} needs the keys of {@code firstVisiblePosition(p) .. p − 1}, so going back to
 * {@code p} works while those are still in the ring.
 *
 * <p>The oldest position still held is {@code floor} (0, or where a restored checkpoint's copy starts) or, once the
 * ring has wrapped, {@code highWater − capacity}, where {@code highWater} is the furthest position evaluated since
 * the last reset or restore (going back and evaluating again only rewrites slots of positions at or after the
 * new end, which are not needed until they are rewritten). One instance per session; not thread-safe.
 */
public final class SlidingRings {
    private final int window;
    private final int capacity;
    private final LayerConfig sliding;
    private int floor;
    private int highWater;

    /**
     * @param capacity positions each sliding layer's ring holds (at least the window), or 0 when they hold the
     *                 whole context
     */
    public SlidingRings(Gemma4Config cfg, int capacity) {
        LayerConfig sl = null;
        for (LayerConfig l : cfg.layers()) {
            if (l.sliding()) {
                sl = l;
            }
        }
        this.sliding = sl;
        this.window = cfg.slidingWindow();
        this.capacity = capacity;
        if (capacity != 0 && sl != null && capacity < window) {
            throw new IllegalArgumentException("a ring of " + capacity + " positions cannot hold a window of " + window);
        }
    }

    /** The sliding window W. */
    public int window() {
        return window;
    }

    /** Whether the model has sliding layers at all. */
    public boolean any() {
        return sliding != null;
    }

    /** The oldest position whose sliding-layer keys and values are still held, at session position {@code position}. */
    public int oldestHeld(int position) {
        highWater = Math.max(highWater, position);
        int lo = floor;
        if (capacity > 0) {
            lo = Math.max(lo, highWater - capacity);
        }
        return Math.max(0, lo);
    }

    /** The smallest position whose queries see nothing before {@code lo}: {@code firstVisiblePosition(p) >= lo}. */
    public int earliestResumable(int lo) {
        if (sliding == null || lo == 0) {
            return 0;
        }
        int p = lo + window - 1;
        assert Gemma4Math.firstVisiblePosition(sliding, window, p) == lo;
        return p;
    }

    /** {@link Session#truncationFloor()} at {@code position}. */
    public int truncationFloor(int position) {
        return sliding == null ? 0 : Math.min(position, earliestResumable(oldestHeld(position)));
    }

    /**
     * Checks a truncation from {@code position} to {@code n} (the caller then moves its position).
     *
     * @throws IllegalArgumentException when the rings cannot go back to {@code n}
     */
    public void truncate(int position, int n) {
        if (n < 0 || n > position) {
            throw new IllegalArgumentException("cannot truncate to " + n + ": the session holds " + position + " positions");
        }
        if (n == 0) {
            reset();
            return;
        }
        if (n < truncationFloor(position)) {
            throw new IllegalArgumentException("cannot truncate to " + n + ": the sliding-window layers hold positions from "
                + oldestHeld(position) + " only (a query at " + n + " needs them from "
                + Gemma4Math.firstVisiblePosition(sliding, window, n) + ")");
        }
        oldestHeld(position);
    }

    /** The session forgot everything. */
    public void reset() {
        floor = 0;
        highWater = 0;
    }

    /** The session was put back at {@code position} with the sliding positions {@code [lo, position)} restored. */
    public void restored(int position, int lo) {
        floor = lo;
        highWater = position;
    }
}
