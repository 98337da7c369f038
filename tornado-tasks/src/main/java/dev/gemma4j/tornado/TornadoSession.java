package dev.gemma4j.tornado;

import dev.gemma4j.engine.Session;

/** A session of the {@link TornadoEngine}: a slot in every layer's device KV cache and its next position. */
final class TornadoSession implements Session {
    final TornadoEngine engine;
    final int slot;
    private final int contextLength;
    int position;
    boolean closed;

    TornadoSession(TornadoEngine engine, int slot, int contextLength) {
        this.engine = engine;
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
