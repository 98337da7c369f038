package dev.gemma4j.tornado;

import dev.gemma4j.engine.Session;
import dev.gemma4j.engine.SlidingRings;

/**
 * A session of the {@link TornadoEngine}: a slot in every layer's device KV cache and its next position. It can
 * go back as far as the sliding layers' device rings allow ({@link SlidingRings}); checkpoints (a host copy of
 * the rings) are not implemented for the device caches yet, so the prompt cache recomputes beyond that.
 */
final class TornadoSession implements Session {
    final TornadoEngine engine;
    final int slot;
    private final int contextLength;
    private final SlidingRings rings;
    int position;
    boolean closed;

    TornadoSession(TornadoEngine engine, int slot, int contextLength, SlidingRings rings) {
        this.engine = engine;
        this.rings = rings;
        this.slot = slot;
        this.contextLength = contextLength;
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
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            engine.release(this);
        }
    }
}
