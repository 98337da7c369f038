package dev.gemma4j.server;

import dev.gemma4j.engine.Generator;
import dev.gemma4j.sampling.LogitsProcessor;
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

        /** Before the first token: how many prompt tokens came from the slot's prompt cache (not evaluated again). */
        default void onPromptCached(int tokens) {
        }
    }

    final int[] prompt;
    final SamplerConfig sampling;
    final int maxTokens;
    final Map<Integer, Float> logitBias;
    final long deadlineNanos;
    final Listener listener;
    /** constrains the choice (a JSON-schema grammar of response_format), or null */
    final LogitsProcessor processor;
    final long enqueuedNanos = System.nanoTime();
    /** may reuse a slot's cached prefix ({@code cache_prompt}) */
    final boolean cachePrompt;
    private volatile boolean cancelled;

    /**
     * @param deadlineNanos {@link System#nanoTime()} after which the job is ended with a time-limit error, or
     *                      {@link Long#MAX_VALUE}
     */
    public GenerationJob(int[] prompt, SamplerConfig sampling, int maxTokens, Map<Integer, Float> logitBias,
                         long deadlineNanos, Listener listener) {
        this(prompt, sampling, maxTokens, logitBias, deadlineNanos, listener, null);
    }

    public GenerationJob(int[] prompt, SamplerConfig sampling, int maxTokens, Map<Integer, Float> logitBias,
                         long deadlineNanos, Listener listener, LogitsProcessor processor) {
        this(prompt, sampling, maxTokens, logitBias, deadlineNanos, listener, processor, true);
    }

    public GenerationJob(int[] prompt, SamplerConfig sampling, int maxTokens, Map<Integer, Float> logitBias,
                         long deadlineNanos, Listener listener, LogitsProcessor processor, boolean cachePrompt) {
        this.processor = processor;
        this.cachePrompt = cachePrompt;
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
