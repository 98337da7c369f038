package dev.gemma4j.cpu;

import dev.gemma4j.engine.Session;
import dev.gemma4j.engine.SessionCheckpoint;
import dev.gemma4j.model.Gemma4Config.LayerConfig;
import dev.gemma4j.model.Gemma4Math;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A session of the {@link CpuEngine}: per-layer KV caches and the next position.
 *
 * <p>Going back (truncation, checkpoints): global layers hold every position, so only the sliding layers'
 * rings limit how far back the session can go. The session tracks the oldest position whose sliding keys are
 * still held: {@code floor} (0, or where a restored checkpoint's copy starts) and, on a ring of capacity
 * {@code c}, everything older than {@code highWater − c} has been overwritten, where {@code highWater} is the
 * furthest position evaluated since the last reset or restore.
 */
final class CpuSession implements Session {
    final CpuEngine engine;
    final LayerKvCache[] caches;
    private final int contextLength;
    /** the sliding window W (positions a sliding query sees, itself included) */
    private final int window;
    /** a sliding layer's config (for {@link Gemma4Math#firstVisiblePosition}), or null without sliding layers */
    private final LayerConfig slidingLayer;
    /** ring capacity of the sliding layers, or 0 when they hold the whole context */
    private final int ringCapacity;
    int position;
    private int floor;
    private int highWater;
    private final List<Checkpoint> checkpoints = new ArrayList<>();
    private boolean closed;

    CpuSession(CpuEngine engine, LayerKvCache[] caches, int contextLength) {
        this.engine = engine;
        this.caches = caches;
        this.contextLength = contextLength;
        this.window = engine.config().slidingWindow();
        LayerConfig sl = null;
        int cap = 0;
        for (int il = 0; il < caches.length; il++) {
            LayerConfig l = engine.config().layer(il);
            if (l.sliding()) {
                sl = l;
                if (caches[il].ring()) {
                    cap = caches[il].capacity();
                }
            }
        }
        this.slidingLayer = sl;
        this.ringCapacity = cap;
    }

    @Override
    public int position() {
        return position;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public void reset() {
        checkOpen();
        position = 0;
        floor = 0;
        highWater = 0;
        invalidateAfter(0);
    }

    /** The oldest position whose sliding-layer keys and values are still held. */
    private int oldestHeld() {
        highWater = Math.max(highWater, position);
        int lo = floor;
        if (ringCapacity > 0) {
            lo = Math.max(lo, highWater - ringCapacity);
        }
        return Math.max(0, lo);
    }

    /** The smallest position {@code p} whose first visible sliding position is at or after {@code lo}. */
    private int earliestResumable(int lo) {
        // firstVisiblePosition(p) = max(0, p − W + 1) >= lo
        int p = lo == 0 ? 0 : lo + window - 1;
        assert slidingLayer == null || Gemma4Math.firstVisiblePosition(slidingLayer, window, p) >= lo;
        return p;
    }

    @Override
    public int truncationFloor() {
        checkOpen();
        if (slidingLayer == null) {
            return 0;
        }
        return Math.min(position, earliestResumable(oldestHeld()));
    }

    @Override
    public void truncate(int n) {
        checkOpen();
        if (n < 0 || n > position) {
            throw new IllegalArgumentException("cannot truncate to " + n + ": the session holds " + position + " positions");
        }
        if (n == 0) {
            reset();
            return;
        }
        int min = truncationFloor();
        if (n < min) {
            throw new IllegalArgumentException("cannot truncate to " + n + ": the sliding-window layers hold positions from "
                + oldestHeld() + " only (a query at " + n + " needs them from " + Gemma4Math.firstVisiblePosition(slidingLayer, window, n) + ")");
        }
        oldestHeld();
        position = n;
        invalidateAfter(n);
    }

    @Override
    public Optional<SessionCheckpoint> checkpoint() {
        checkOpen();
        int c = position;
        // W positions rather than the W − 1 a query at c sees, so a restored session can also go back to c − 1
        // (the last prompt token evaluated again, for its logits)
        int lo = Math.max(Math.max(0, c - window), oldestHeld());
        if (slidingLayer != null && lo > Gemma4Math.firstVisiblePosition(slidingLayer, window, c)) {
            return Optional.empty();
        }
        long bytes = 0;
        for (int il = 0; il < caches.length; il++) {
            if (engine.config().layer(il).sliding()) {
                bytes += (c - lo) * caches[il].positionBytes();
            }
        }
        Arena arena = Arena.ofShared();
        MemorySegment data = arena.allocate(Math.max(1, bytes), 8);
        long off = 0;
        for (int il = 0; il < caches.length; il++) {
            if (engine.config().layer(il).sliding()) {
                caches[il].save(lo, c, data, off);
                off += (c - lo) * caches[il].positionBytes();
            }
        }
        Checkpoint cp = new Checkpoint(arena, data, bytes, c, lo, slidingLayer == null ? 0 : earliestResumable(lo));
        checkpoints.add(cp);
        return Optional.of(cp);
    }

    @Override
    public void restore(SessionCheckpoint checkpoint) {
        checkOpen();
        if (!(checkpoint instanceof Checkpoint cp) || !checkpoints.contains(cp)) {
            throw new IllegalArgumentException("not a valid checkpoint of this session (closed, another session's, "
                + "or the session went back before its position)");
        }
        long off = 0;
        for (int il = 0; il < caches.length; il++) {
            if (engine.config().layer(il).sliding()) {
                caches[il].load(cp.lo, cp.position, cp.data, off);
                off += (cp.position - cp.lo) * caches[il].positionBytes();
            }
        }
        position = cp.position;
        highWater = cp.position;
        floor = cp.lo;
        invalidateAfter(cp.position);
    }

    /** Checkpoints beyond {@code n} no longer match the global layers once positions from {@code n} are rewritten. */
    private void invalidateAfter(int n) {
        checkpoints.removeIf(cp -> cp.position > n);
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
    }

    @Override
    public void close() {
        closed = true;
        checkpoints.clear();
        java.util.Arrays.fill(caches, null);
    }

    /** The sliding layers' K and V rows of positions {@code [lo, position)}, layer after layer, off the heap. */
    private final class Checkpoint implements SessionCheckpoint {
        final Arena arena;
        final MemorySegment data;
        final long bytes;
        final int position;
        final int lo;
        final int earliest;
        private boolean released;

        Checkpoint(Arena arena, MemorySegment data, long bytes, int position, int lo, int earliest) {
            this.arena = arena;
            this.data = data;
            this.bytes = bytes;
            this.position = position;
            this.lo = lo;
            this.earliest = earliest;
        }

        @Override
        public int position() {
            return position;
        }

        @Override
        public int earliestPosition() {
            return Math.min(earliest, position);
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public boolean valid() {
            return !released && !closed && checkpoints.contains(this);
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                checkpoints.remove(this);
                arena.close();
            }
        }
    }
}
