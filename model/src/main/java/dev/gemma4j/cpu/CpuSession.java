package dev.gemma4j.cpu;

import dev.gemma4j.engine.Session;

/** A session of the {@link CpuEngine}: per-layer KV caches and the next position. */
final class CpuSession implements Session {
    final CpuEngine engine;
    final LayerKvCache[] caches;
    private final int contextLength;
    int position;
    private boolean closed;

    CpuSession(CpuEngine engine, LayerKvCache[] caches, int contextLength) {
        this.engine = engine;
        this.caches = caches;
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
        closed = true;
        java.util.Arrays.fill(caches, null);
    }
}
