package dev.gemma4j.server;

import dev.gemma4j.engine.Continuation;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.Generator;
import dev.gemma4j.engine.Session;
import dev.gemma4j.sampling.Sampler;
import dev.gemma4j.sampling.StopTokens;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching over a fixed set of slots, on the one thread that owns the engine (no other thread
 * calls it). Each slot is a session with its own KV cache. Every step evaluates, in one engine call, the
 * pending token of every decoding slot plus at most {@code prefillBudget} prompt tokens of one slot that is
 * still reading its prompt; requests join from a bounded queue and leave between steps. A sequence's result
 * does not depend on its neighbours in a step as long as the engine's kernels are batch-invariant.
 * A slot keeps what its session evaluated after a request ends: a {@link PromptCache} sends each request to
 * the idle slot that shares the longest prefix with its prompt and evaluates only the rest.
 */
public final class Scheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private final Engine engine;
    private final StopTokens stops;
    private final int queueCapacity;
    private final int prefillBudget;
    private final ServerMetrics metrics;
    private final Slot[] slots;
    private final PromptCache cache;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Condition idle = lock.newCondition();
    private final ArrayDeque<GenerationJob> queue = new ArrayDeque<>();
    private final Thread thread;
    private boolean accepting = true;
    private volatile boolean stopped;
    private int busy;

    /** The per-slot state: a session and the job it runs. */
    private static final class Slot {
        final int index;
        final Session session;
        final float[] logits;
        /** the tokens the session holds (prompt and generated tokens that were evaluated) */
        final PromptCache.Tokens cached = new PromptCache.Tokens();
        GenerationJob job;
        Continuation seq;
        int prefilled;
        int pending = -1;
        long lastTokenNanos;

        Slot(int index, Session session, int vocab) {
            this.index = index;
            this.session = session;
            this.logits = new float[vocab];
        }

        boolean prefilling() {
            return job != null && prefilled < job.prompt.length;
        }
    }

    public Scheduler(Engine engine, StopTokens stops, int slotCount, int queueCapacity, int prefillBudget,
                     ServerMetrics metrics) {
        this(engine, stops, slotCount, queueCapacity, prefillBudget, metrics, true, ServerOptions.DEFAULT_CACHE_RAM);
    }

    /**
     * @param cachePrompt   keep each slot's tokens and reuse the longest cached prefix of a prompt
     * @param cacheRamBytes host memory for the prompt cache's checkpoints, all slots together
     */
    public Scheduler(Engine engine, StopTokens stops, int slotCount, int queueCapacity, int prefillBudget,
                     ServerMetrics metrics, boolean cachePrompt, long cacheRamBytes) {
        this.engine = engine;
        this.cache = new PromptCache(cachePrompt, cacheRamBytes, metrics);
        this.stops = stops;
        this.queueCapacity = queueCapacity;
        this.prefillBudget = prefillBudget;
        this.metrics = metrics;
        this.slots = new Slot[slotCount];
        for (int i = 0; i < slotCount; i++) {
            slots[i] = new Slot(i, engine.newSession(), engine.config().vocabSize());
        }
        this.thread = Thread.ofPlatform().name("gemma-scheduler").daemon(true).unstarted(this::run);
        thread.start();
    }

    public int slotCount() {
        return slots.length;
    }

    public int contextLength() {
        return engine.options().contextLength();
    }

    /**
     * Queues jobs (the n choices of one request) together, or none of them: false when the free slots plus
     * the queue's room cannot take them all (the caller answers 429) or the server is shutting down.
     */
    public boolean submit(List<GenerationJob> jobs) {
        lock.lock();
        try {
            if (!accepting) {
                return false;
            }
            int free = slots.length - busy;
            // room: the free slots (which take queued jobs at the next step) plus the queue itself
            if (queue.size() + jobs.size() > free + queueCapacity) {
                return false;
            }
            queue.addAll(jobs);
            metrics.queueDepth(queue.size());
            wake.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Requests waiting for a slot. */
    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Slots running a job. */
    public int active() {
        lock.lock();
        try {
            return busy;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops taking jobs, lets the running and queued ones finish for up to {@code graceMillis}, then cancels
     * what is left (their listeners get a 503 error) and stops the thread.
     */
    public void shutdown(long graceMillis) {
        lock.lock();
        try {
            accepting = false;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
            while ((busy > 0 || !queue.isEmpty()) && System.nanoTime() < deadline) {
                idle.await(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped = true;
            wake.signalAll();
            lock.unlock();
        }
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (!stopped) {
            shutdown(0);
        }
    }

    private void run() {
        List<Slot> decoding = new ArrayList<>(slots.length);
        try {
            while (true) {
                if (!admit()) {
                    break;
                }
                decoding.clear();
                Slot reading = null;
                long now = System.nanoTime();
                for (Slot s : slots) {
                    if (s.job == null) {
                        continue;
                    }
                    if (s.job.cancelled()) {
                        free(s);
                        continue;
                    }
                    if (now > s.job.deadlineNanos) {
                        fail(s, new ServerException(408, "timeout_error", "request_timeout", null,
                            "the request took longer than the server's time limit"));
                        continue;
                    }
                    if (s.prefilling()) {
                        // the slot that has waited longest reads first: prompts are served in arrival order
                        if (reading == null || s.job.enqueuedNanos < reading.job.enqueuedNanos) {
                            reading = s;
                        }
                    } else {
                        decoding.add(s);
                    }
                }
                if (decoding.isEmpty() && reading == null) {
                    continue;
                }
                step(decoding, reading);
            }
        } catch (Throwable t) {
            LOG.error("scheduler thread died", t);
        } finally {
            failAll(new ServerException(503, "server_error", "shutting_down", null, "the server is shutting down"));
        }
    }

    /** Moves queued jobs into free slots; waits while there is nothing to do. False when stopped. */
    private boolean admit() throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                if (stopped) {
                    return false;
                }
                while (!queue.isEmpty()) {
                    Slot s = slotFor(queue.peek());
                    if (s == null) {
                        break;
                    }
                    start(s, queue.poll());
                }
                metrics.queueDepth(queue.size());
                metrics.activeSlots(busy);
                if (busy > 0) {
                    return true;
                }
                idle.signalAll();
                wake.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The idle slot for a job: the one whose cache shares the longest prefix with its prompt, else (nothing
     * worth reusing) the least recently used one; null when every slot is busy.
     */
    private Slot slotFor(GenerationJob job) {
        Slot best = null;
        int bestShared = -1;
        for (Slot s : slots) {
            if (s.job != null) {
                continue;
            }
            int shared = cache.affinity(s.cached, job.prompt, job.cachePrompt);
            if (shared > bestShared || (shared == bestShared && s.cached.lastUsed < best.cached.lastUsed)) {
                best = s;
                bestShared = shared;
            }
        }
        return best;
    }

    private void start(Slot s, GenerationJob job) {
        int reused;
        try {
            reused = cache.resume(s.index, s.session, s.cached, job.prompt, job.cachePrompt);
        } catch (RuntimeException e) {
            // never expected (resume only asks for what the session said it can do); evaluate the whole prompt
            LOG.error("prompt cache: slot {} could not resume, starting over", s.index, e);
            cache.forget(s.session, s.cached);
            s.session.reset();
            reused = 0;
        }
        job.listener.onPromptCached(reused);
        s.job = job;
        s.prefilled = reused;
        s.pending = -1;
        s.seq = new Continuation(new Sampler(job.sampling, engine.config().vocabSize()), stops, job.maxTokens, job.processor);
        s.seq.acceptPrompt(job.prompt);
        busy++;
    }

    /** One engine call for every decoding slot and a piece of one prompt, then the next token of each. */
    private void step(List<Slot> decoding, Slot reading) {
        int n = decoding.size() + (reading != null ? 1 : 0);
        List<Session> sessions = new ArrayList<>(n);
        int[][] tokens = new int[n][];
        float[][] logits = new float[n][];
        for (int i = 0; i < decoding.size(); i++) {
            Slot s = decoding.get(i);
            sessions.add(s.session);
            tokens[i] = new int[] {s.pending};
            logits[i] = s.logits;
        }
        if (reading != null) {
            int from = reading.prefilled;
            int to = Math.min(reading.job.prompt.length, from + prefillBudget);
            sessions.add(reading.session);
            tokens[n - 1] = java.util.Arrays.copyOfRange(reading.job.prompt, from, to);
            logits[n - 1] = to == reading.job.prompt.length ? reading.logits : null;
        }
        try {
            engine.step(sessions, tokens, logits);
        } catch (RuntimeException e) {
            LOG.error("engine step failed", e);
            // what the sessions hold is unknown now: nothing of them is reused
            for (Slot s : decoding) {
                cache.forget(s.session, s.cached);
                s.session.reset();
            }
            if (reading != null) {
                cache.forget(reading.session, reading.cached);
                reading.session.reset();
            }
            for (Slot s : decoding) {
                fail(s, ServerException.internal("the engine failed: " + e.getMessage()));
            }
            if (reading != null) {
                fail(reading, ServerException.internal("the engine failed: " + e.getMessage()));
            }
            return;
        }
        for (Slot s : decoding) {
            s.cached.append(s.pending);
            next(s);
        }
        if (reading != null) {
            reading.prefilled += tokens[n - 1].length;
            reading.cached.append(tokens[n - 1]);
            metrics.promptTokens(tokens[n - 1].length);
            if (!reading.prefilling()) {
                cache.promptEvaluated(reading.index, reading.session);
                next(reading);
            }
        }
    }

    /** Draws the slot's next token from its logits and hands it out, or ends the sequence. */
    private void next(Slot s) {
        GenerationJob job = s.job;
        if (job.cancelled()) {
            free(s);
            return;
        }
        float[] l = s.logits;
        float[] scores = l;
        if (!job.logitBias.isEmpty() || job.processor != null) {
            // a copy: the bias and the grammar change the scores the choice is made from, not the logprobs
            scores = l.clone();
            for (Map.Entry<Integer, Float> e : job.logitBias.entrySet()) {
                scores[e.getKey()] += e.getValue();
            }
        }
        int token = -1;
        boolean goOn;
        try {
            // max_tokens 0: the sequence has ended before its first token (the prompt was still evaluated)
            goOn = s.seq.finishReason() == null;
            if (goOn) {
                token = s.seq.choose(scores);
                goOn = token >= 0;
            }
            if (goOn) {
                long now = System.nanoTime();
                if (s.seq.generated() == 1) {
                    metrics.firstToken(now - job.enqueuedNanos);
                } else {
                    metrics.interToken(now - s.lastTokenNanos);
                }
                s.lastTokenNanos = now;
                if (!job.listener.onToken(token, l)) {
                    s.seq.cancel();
                    goOn = false;
                } else {
                    goOn = s.seq.continues(s.session);
                }
            }
        } catch (RuntimeException e) {
            LOG.error("request failed while handing out a token", e);
            fail(s, ServerException.internal("internal error: " + e));
            return;
        }
        if (goOn) {
            s.pending = token;
            return;
        }
        Generator.FinishReason reason = s.seq.finishReason();
        int generated = s.seq.generated();
        free(s);
        try {
            // CANCELLED here means the listener stopped the sequence (a stop string): a normal end for it
            job.listener.onFinish(reason, job.prompt.length, generated);
        } catch (RuntimeException e) {
            LOG.error("request failed while finishing", e);
        }
    }

    private void fail(Slot s, ServerException error) {
        GenerationJob job = s.job;
        free(s);
        if (!job.cancelled()) {
            try {
                job.listener.onError(error);
            } catch (RuntimeException e) {
                LOG.error("error listener failed", e);
            }
        }
    }

    private void free(Slot s) {
        s.cached.lastUsed = cache.tick();
        s.job = null;
        s.seq = null;
        s.pending = -1;
        lock.lock();
        try {
            busy--;
            metrics.activeSlots(busy);
            if (busy == 0 && queue.isEmpty()) {
                idle.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    private void failAll(ServerException error) {
        for (Slot s : slots) {
            if (s.job != null) {
                fail(s, error);
            }
        }
        List<GenerationJob> left;
        lock.lock();
        try {
            accepting = false;
            left = new ArrayList<>(queue);
            queue.clear();
        } finally {
            lock.unlock();
        }
        for (GenerationJob j : left) {
            if (!j.cancelled()) {
                j.listener.onError(error);
            }
        }
        cache.close();
        for (Slot s : slots) {
            s.session.close();
        }
    }
}
