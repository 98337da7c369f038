package dev.gemma4j.engine;

import dev.gemma4j.model.Gemma4Config;
import java.util.List;

/**
 * A Gemma 4 forward pass on some backend. Weights are loaded once and shared by every session; all
 * methods may be called from one thread at a time (a backend parallelises internally).
 * Logits are the soft-capped scores over the vocabulary for the token after the last one evaluated.
 */
public interface Engine extends AutoCloseable {

    Gemma4Config config();

    EngineOptions options();

    /** A new, empty session with its own KV cache of {@link EngineOptions#contextLength()} tokens. */
    Session newSession();

    /**
     * Evaluates {@code tokens} at the session's next positions (in chunks) and writes the logits of the last
     * one into {@code logits} (length {@code config().vocabSize()}).
     *
     * @throws ContextOverflowException if the tokens do not fit in the session; nothing is evaluated then
     * @throws IllegalArgumentException for a token id outside the vocabulary or an empty token list
     */
    void prefill(Session session, int[] tokens, float[] logits);

    /**
     * One decoding step for several sessions at once: {@code tokens[i]} is appended to {@code sessions.get(i)}
     * and that session's next-token logits are written to {@code logits[i]}. The sessions must be distinct.
     */
    void decode(List<? extends Session> sessions, int[] tokens, float[][] logits);

    /** Convenience: {@link #prefill} into a new array. */
    default float[] prefill(Session session, int[] tokens) {
        float[] logits = new float[config().vocabSize()];
        prefill(session, tokens, logits);
        return logits;
    }

    /** One decoding step of one session. */
    default void decode(Session session, int token, float[] logits) {
        decode(List.of(session), new int[] {token}, new float[][] {logits});
    }

    @Override
    void close();
}
