package dev.gemma4j.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The engine's own threads: {@link #forEach} runs {@code body(i, worker)} for every {@code i < n} across
 * {@code threads} workers (the calling thread is worker 0) and returns when all are done. No allocation per call.
 * <p>
 * Each worker owns a contiguous share of the indices and runs it in order; a worker whose share is done takes
 * the remaining tasks of the others from their far end, so uneven tasks (experts with more rows) and a late
 * worker balance out. Contiguous shares matter for decoding, whose tasks are blocks of weight rows streamed from
 * memory: with one shared counter the two threads of a 2-core machine took alternate blocks, each core's reads
 * jumped ahead every few microseconds, and two threads streamed a Q4_K matrix at 16 GB/s against 14 for one;
 * with a contiguous half each they stream 27 (docs/benchmarks.md, "Eighth round").
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
    /**
     * Worker w's share at index {@code w·PAD}: the next index to run from the front in the high 32 bits, the end
     * (exclusive) in the low 32; thieves take from the end. Padded so that shares do not share a cache line.
     */
    private final AtomicLongArray shares;
    private static final int PAD = 16;
    private final AtomicInteger finishedWorkers = new AtomicInteger();
    /** Workers that joined the current region, plus {@link #CLOSED} once the caller has closed it. */
    private final AtomicInteger joined = new AtomicInteger();
    private static final int CLOSED = 1 << 30;
    private volatile Body body;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    WorkerPool(int threads) {
        workers = new Thread[threads - 1];
        shares = new AtomicLongArray(threads * PAD);
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
        int threads = threads();
        for (int w = 0; w < threads; w++) {
            long from = (long) n * w / threads;
            long to = (long) n * (w + 1) / threads;
            shares.set(w * PAD, from << 32 | to);
        }
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
            // a task of the caller's that failed leaves the rest of the region to nobody
            for (int w = 0; w < threads; w++) {
                shares.set(w * PAD, 0);
            }
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
        int i;
        while ((i = takeFront(worker)) >= 0) {
            b.run(i, worker);
        }
        int threads = threads();
        for (int k = 1; k < threads; k++) {
            int victim = (worker + k) % threads;
            while ((i = takeBack(victim)) >= 0) {
                b.run(i, worker);
            }
        }
    }

    /** The next index of worker w's share from its front (its owner's order), or -1 if the share is done. */
    private int takeFront(int w) {
        return take(w, true);
    }

    /** The last index of worker w's share (taken by another worker), or -1 if the share is done. */
    private int takeBack(int w) {
        return take(w, false);
    }

    /** One CAS on the share's packed (front, end) pair: front moves up, or end moves down. */
    private int take(int w, boolean fromFront) {
        while (true) {
            long v = shares.get(w * PAD);
            int front = (int) (v >>> 32);
            int end = (int) v;
            if (front >= end) {
                return -1;
            }
            if (shares.compareAndSet(w * PAD, v, fromFront ? v + (1L << 32) : v - 1)) {
                return fromFront ? front : end - 1;
            }
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
                for (int w = 0; w < threads(); w++) {
                    shares.set(w * PAD, 0);
                }
            } finally {
                finishedWorkers.incrementAndGet();
            }
        }
    }

    /**
     * Joins the current region unless the caller has closed it. A worker that read an older generation and
     * joins a newer region takes part in that one: it reads the region's body and shares after joining.
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
