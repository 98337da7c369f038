package dev.gemma4j.engine;

import dev.gemma4j.sampling.LogitsProcessor;
import dev.gemma4j.sampling.Sampler;
import dev.gemma4j.sampling.StopTokens;

/**
 * The per-sequence decisions of generation after each forward pass: choose the next token from the logits,
 * end on an end-of-generation token, on the token limit or when the session's context is full. Shared by
 * {@link Generator} (one session, its own loop) and the HTTP server's scheduler (many sessions stepped
 * together), so that both end a sequence in exactly the same place.
 */
public final class Continuation {
    private final Sampler sampler;
    private final StopTokens stops;
    private final int maxTokens;
    private final LogitsProcessor processor;
    private int generated;
    private Generator.FinishReason finish;

    /** {@code maxTokens} is the most tokens to generate (0 ends at once). */
    public Continuation(Sampler sampler, StopTokens stops, int maxTokens) {
        this(sampler, stops, maxTokens, null);
    }

    /**
     * With a {@code processor} (null: none) that adjusts the logits before each choice and follows the chosen
     * tokens, e.g. a JSON-schema constraint; when it says the output is complete the sequence ends as if the
     * end token had been chosen.
     */
    public Continuation(Sampler sampler, StopTokens stops, int maxTokens, LogitsProcessor processor) {
        this.processor = processor;
        this.sampler = sampler;
        this.stops = stops;
        this.maxTokens = Math.max(0, maxTokens);
        if (this.maxTokens == 0) {
            finish = Generator.FinishReason.LENGTH;
        }
    }

    /** Feeds the prompt to the sampler's penalty history. */
    public void acceptPrompt(int[] prompt) {
        for (int t : prompt) {
            sampler.accept(t);
        }
    }

    /**
     * Chooses the next token from {@code logits}; returns it, or -1 when the model ended the sequence (an
     * end-of-generation token, which is not part of the output: {@link #finishReason()} is then STOP).
     */
    public int choose(float[] logits) {
        if (finish != null) {
            throw new IllegalStateException("the sequence has ended: " + finish);
        }
        if (processor != null) {
            processor.process(logits);
        }
        int next = sampler.sample(logits);
        if (stops.isStop(next)) {
            finish = Generator.FinishReason.STOP;
            return -1;
        }
        generated++;
        sampler.accept(next);
        if (processor != null) {
            processor.accept(next);
        }
        return next;
    }

    /**
     * After a chosen token was handed out: whether the sequence goes on (then the token must be decoded in
     * {@code session}), or ends at the token limit or the end of the context.
     */
    public boolean continues(Session session) {
        if (finish != null) {
            return false;
        }
        if (processor != null && processor.forcesEnd()) {
            finish = Generator.FinishReason.STOP;
        } else if (generated >= maxTokens) {
            finish = Generator.FinishReason.LENGTH;
        } else if (session.position() >= session.contextLength()) {
            finish = Generator.FinishReason.CONTEXT;
        }
        return finish == null;
    }

    /** Ends the sequence for a reason outside the model (the listener stopped it). */
    public void cancel() {
        if (finish == null) {
            finish = Generator.FinishReason.CANCELLED;
        }
    }

    /** Tokens generated so far. */
    public int generated() {
        return generated;
    }

    /** Why the sequence ended, or null while it goes on. */
    public Generator.FinishReason finishReason() {
        return finish;
    }
}
