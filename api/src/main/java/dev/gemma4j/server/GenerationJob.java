package dev.gemma4j.server;

import dev.gemma4j.engine.Generator;
import dev.gemma4j.sampling.SamplerConfig;
import java.util.Map;

/**
 * One sequence to generate, as the HTTP layer hands it to the {@link Scheduler}: the prompt ids, how to
 * sample, how far to go, and a {@link Listener} the scheduler thread calls with each token and at the end.
 * Cancelling (client gone, time limit) is the only thing another thread does to a job.
 */
public final class GenerationJob {

    /** Called on the scheduler thread, so it must be quick and must not block. */
    public interface Listener {
        /** A generated token and the logits it was drawn from (raw model scores); false ends the sequence. */
        boolean onToken(int token, float[] logits);

        /** The sequence ended; {@code generated} tokens were handed to {@link #onToken}. */
        void onFinish(Generator.FinishReason reason, int promptTokens, int generated);

        /** The job failed (engine error, time limit, shutdown); no further call follows. */
        void onError(ServerException error);
    }

    final int[] prompt;
    final SamplerConfig sampling;
    final int maxTokens;
    final Map<Integer, Float> logitBias;
    final long deadlineNanos;
    final Listener listener;
    final long enqueuedNanos = System.nanoTime();
    private volatile boolean cancelled;

    /**
     * @param deadlineNanos {@link System#nanoTime()} after which the job is ended with a time-limit error, or
     *                      {@link Long#MAX_VALUE}
     */
    public GenerationJob(int[] prompt, SamplerConfig sampling, int maxTokens, Map<Integer, Float> logitBias,
                         long deadlineNanos, Listener listener) {
        this.prompt = prompt.clone();
        this.sampling = sampling;
        this.maxTokens = maxTokens;
        this.logitBias = Map.copyOf(logitBias);
        this.deadlineNanos = deadlineNanos;
        this.listener = listener;
    }

    /** Asks the scheduler to drop the job; its slot is freed at the next step. No listener call follows. */
    public void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }
}
