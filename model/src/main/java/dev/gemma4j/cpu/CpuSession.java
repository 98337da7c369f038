package dev.gemma4j.cpu;

import dev.gemma4j.engine.Session;
import dev.gemma4j.engine.SessionCheckpoint;
import dev.gemma4j.engine.SlidingRings;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A session of the {@link CpuEngine}: per-layer KV caches and the next position. Global layers hold every
 * position; how far back the sliding layers' rings let the session go is {@link SlidingRings}' business, and a
 * {@link SessionCheckpoint} copies their last window so the session can come back to that position later.
 */
final class CpuSession implements Session {
    final CpuEngine engine;
    final LayerKvCache[] caches;
    private final int contextLength;
    private final SlidingRings rings;
    int position;
    private final List<Checkpoint> checkpoints = new ArrayList<>();
    private boolean closed;

    CpuSession(CpuEngine engine, LayerKvCache[] caches, int contextLength) {
        this.engine = engine;
        this.caches = caches;
        this.contextLength = contextLength;
        int cap = 0;
        for (int il = 0; il < caches.length; il++) {
            if (engine.config().layer(il).sliding() && caches[il].ring()) {
                cap = caches[il].capacity();
            }
        }
        this.rings = new SlidingRings(engine.config(), cap);
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
        rings.reset();
        invalidateAfter(0);
    }

    @Override
    public int truncationFloor() {
        checkOpen();
        return rings.truncationFloor(position);
    }

    @Override
    public void truncate(int n) {
        checkOpen();
        rings.truncate(position, n);
        position = n;
        invalidateAfter(n);
    }

    @Override
    public Optional<SessionCheckpoint> checkpoint() {
        checkOpen();
        int c = position;
        // W positions rather than the W − 1 a query at c sees, so a restored session can also go back to c − 1
        // (the last prompt token evaluated again, for its logits)
        int lo = Math.max(Math.max(0, c - rings.window()), rings.oldestHeld(c));
        if (rings.earliestResumable(lo) > c) {
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
        Checkpoint cp = new Checkpoint(arena, data, bytes, c, lo, rings.earliestResumable(lo));
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
        rings.restored(cp.position, cp.lo);
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
