package dev.gemma4j.engine;

import dev.gemma4j.sampling.LogitsProcessor;
import dev.gemma4j.sampling.Sampler;
import dev.gemma4j.sampling.StopTokens;
import java.util.Arrays;

/**
 * The generation loop (spec §3.9) over any {@link Engine}: prefill the prompt, then sample, stop on an
 * end-of-generation token, the token limit or the end of the context, and decode the chosen token.
 */
public final class Generator {

    /** Why generation ended. */
    public enum FinishReason {
        /**
         * the model produced an end-of-generation token (not included in the output), or the logits processor
         * said that only one could follow
         */
        STOP("stop"),
        /** the requested number of tokens was generated */
        LENGTH("length"),
        /** the session's context is full */
        CONTEXT("context_length"),
        /** the listener asked to stop */
        CANCELLED("cancelled");

        private final String wireName;

        FinishReason(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /** Prompt and generation timing; rates are tokens per second. */
    public record Timings(int promptTokens, double promptMillis, int generatedTokens, double generationMillis) {
        public double promptTokensPerSecond() {
            return promptMillis > 0 ? promptTokens * 1000.0 / promptMillis : 0;
        }

        /** Decoding steps per second (the first generated token comes from the prompt's logits). */
        public double generationTokensPerSecond() {
            return generationMillis > 0 && generatedTokens > 1 ? (generatedTokens - 1) * 1000.0 / generationMillis : 0;
        }
    }

    /** The outcome of one {@link #generate} call. */
    public record Result(int[] ids, FinishReason finishReason, Timings timings) {
    }

    /** Receives each generated token as it is chosen; returning false stops generation. */
    @FunctionalInterface
    public interface TokenListener {
        boolean onToken(int token);
    }

    private Generator() {
    }

    /**
     * Evaluates {@code prompt} in {@code session} (which may already hold earlier tokens) and generates up to
     * {@code maxTokens} tokens. The prompt tokens are fed to the sampler's penalty history.
     */
    public static Result generate(Engine engine, Session session, int[] prompt, Sampler sampler, StopTokens stops,
                                  int maxTokens, TokenListener listener) {
        return generate(engine, session, prompt, sampler, stops, maxTokens, null, listener);
    }

    /**
     * As {@link #generate(Engine, Session, int[], Sampler, StopTokens, int, TokenListener)}, with an optional
     * {@code processor} (null: none) that sees the logits before each sampling step and each generated token,
     * e.g. a JSON-schema constraint.
     */
    public static Result generate(Engine engine, Session session, int[] prompt, Sampler sampler, StopTokens stops,
                                  int maxTokens, LogitsProcessor processor, TokenListener listener) {
        float[] logits = new float[engine.config().vocabSize()];
        Continuation seq = new Continuation(sampler, stops, Math.min(maxTokens, 1 << 20), processor);
        seq.acceptPrompt(prompt);
        long t0 = System.nanoTime();
        engine.prefill(session, prompt, logits);
        long t1 = System.nanoTime();
        int[] out = new int[Math.max(0, Math.min(maxTokens, 1 << 20))];
        int n = 0;
        while (seq.finishReason() == null) {
            int next = seq.choose(logits);
            if (next < 0) {
                break;
            }
            out[n++] = next;
            if (listener != null && !listener.onToken(next)) {
                seq.cancel();
                break;
            }
            if (!seq.continues(session)) {
                break;
            }
            engine.decode(session, next, logits);
        }
        FinishReason reason = seq.finishReason();
        long t2 = System.nanoTime();
        Timings timings = new Timings(prompt.length, (t1 - t0) / 1e6, n, (t2 - t1) / 1e6);
        return new Result(Arrays.copyOf(out, n), reason, timings);
    }
}
