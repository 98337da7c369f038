package dev.gemma4j.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The engine's own threads: {@link #forEach} runs {@code body(i, worker)} for every {@code i < n} across
 * {@code threads} workers (the calling thread is worker 0) and returns when all are done. Indices are
 * claimed dynamically, so uneven tasks (experts with more rows) balance out. No allocation per call.
 * <p>
 * A worker takes part in a region only if it <em>joins</em> it before the caller closes it: the caller runs
 * tasks itself until none are left, closes the region, and waits only for the workers that joined (they may
 * still be finishing a task). A worker that was descheduled, or still parked, when the region started does not
 * hold the caller up: on a machine shared with other jobs, waiting for it cost up to a scheduler time slice
 * per region, with about a hundred regions per token. Which worker runs a task never changes its result.
 */
final class WorkerPool implements AutoCloseable {

    /** One parallel region's work: task {@code index}, run by worker {@code worker} (for per-worker scratch). */
    @FunctionalInterface
    interface Body {
        void run(int index, int worker);
    }

    private static final long SPIN_NANOS = 200_000;

    private final Thread[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger finishedWorkers = new AtomicInteger();
    /** Workers that joined the current region, plus {@link #CLOSED} once the caller has closed it. */
    private final AtomicInteger joined = new AtomicInteger();
    private static final int CLOSED = 1 << 30;
    private volatile Body body;
    private volatile int count;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    WorkerPool(int threads) {
        workers = new Thread[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            int id = w + 1;
            Thread t = new Thread(() -> loop(id), "gemma4j-cpu-" + id);
            t.setDaemon(true);
            workers[w] = t;
            t.start();
        }
    }

    int threads() {
        return workers.length + 1;
    }

    void forEach(int n, Body b) {
        if (n <= 0) {
            return;
        }
        if (workers.length == 0 || n == 1) {
            for (int i = 0; i < n; i++) {
                b.run(i, 0);
            }
            return;
        }
        body = b;
        count = n;
        next.set(0);
        finishedWorkers.set(0);
        failure = null;
        joined.set(0);
        generation = generation + 1;
        for (Thread t : workers) {
            LockSupport.unpark(t);
        }
        try {
            work(0);
        } finally {
            // close the region: workers that have not joined yet stay out; wait for those that did
            int participants = joined.getAndAdd(CLOSED) & (CLOSED - 1);
            while (finishedWorkers.get() < participants) {
                Thread.onSpinWait();
            }
            body = null;
        }
        Throwable f = failure;
        if (f != null) {
            if (f instanceof RuntimeException r) {
                throw r;
            }
            if (f instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(f);
        }
    }

    private void work(int worker) {
        Body b = body;
        int n = count;
        int i;
        while ((i = next.getAndIncrement()) < n) {
            b.run(i, worker);
        }
    }

    private void loop(int id) {
        int seen = 0;
        while (!closed) {
            int g = generation;
            if (g == seen) {
                long start = System.nanoTime();
                while (generation == seen && !closed && System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                }
                if (generation == seen && !closed) {
                    LockSupport.park(this);
                }
                continue;
            }
            seen = g;
            if (!join()) {
                continue;
            }
            try {
                work(id);
            } catch (Throwable t) {
                failure = t;
                next.set(Integer.MAX_VALUE / 2);
            } finally {
                finishedWorkers.incrementAndGet();
            }
        }
    }

    /**
     * Joins the current region unless the caller has closed it. A worker that read an older generation and
     * joins a newer region takes part in that one: it reads the region's body and count after joining.
     */
    private boolean join() {
        while (true) {
            int j = joined.get();
            if ((j & CLOSED) != 0) {
                return false;
            }
            if (joined.compareAndSet(j, j + 1)) {
                return true;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : workers) {
            LockSupport.unpark(t);
        }
    }
}
