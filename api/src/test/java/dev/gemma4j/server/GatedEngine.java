package dev.gemma4j.server;

import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.model.Gemma4Config;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real engine behind a gate the test opens and closes: while closed, the scheduler's engine call waits,
 * so a test can hold slots busy without timing assumptions. Counts the engine calls.
 */
final class GatedEngine implements Engine {
    private final Engine inner;
    private final Object lock = new Object();
    private boolean open = true;
    /** Calls that may still pass before the gate closes by itself; -1: no such limit. */
    private int passes = -1;
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger waiting = new AtomicInteger();

    GatedEngine(Engine inner) {
        this.inner = inner;
    }

    void close(boolean closed) {
        synchronized (lock) {
            open = !closed;
            passes = -1;
            lock.notifyAll();
        }
    }

    /** Opens the gate for {@code n} more engine calls, after which it closes (a stream stopped halfway). */
    void passThenClose(int n) {
        synchronized (lock) {
            open = true;
            passes = n;
            lock.notifyAll();
        }
    }

    private void pass() {
        calls.incrementAndGet();
        synchronized (lock) {
            if (passes == 0) {
                open = false;
                passes = -1;
            } else if (passes > 0) {
                passes--;
            }
            waiting.incrementAndGet();
            try {
                while (!open) {
                    lock.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                waiting.decrementAndGet();
            }
        }
    }

    @Override
    public Gemma4Config config() {
        return inner.config();
    }

    @Override
    public EngineOptions options() {
        return inner.options();
    }

    @Override
    public Session newSession() {
        return inner.newSession();
    }

    @Override
    public void prefill(Session session, int[] tokens, float[] logits) {
        pass();
        inner.prefill(session, tokens, logits);
    }

    @Override
    public void decode(List<? extends Session> sessions, int[] tokens, float[][] logits) {
        pass();
        inner.decode(sessions, tokens, logits);
    }

    @Override
    public void step(List<? extends Session> sessions, int[][] tokens, float[][] logits) {
        pass();
        inner.step(sessions, tokens, logits);
    }

    @Override
    public void close() {
        close(false);
        inner.close();
    }
}
