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

    /**
     * One forward step over several sessions, the unit of continuous batching: session {@code i} appends
     * {@code tokens[i]} (one token for a decoding sequence, a piece of prompt for one being prefilled) and,
     * when {@code logits[i]} is not null, receives the logits after its last token. A backend evaluates all
     * rows together where it can (each weight block read once per step). The sessions must be distinct.
     * This default runs the decoding rows as one {@link #decode} batch and each longer piece as a {@link #prefill}.
     *
     * @throws ContextOverflowException if any session's tokens do not fit; nothing is evaluated then
     */
    default void step(List<? extends Session> sessions, int[][] tokens, float[][] logits) {
        int n = sessions.size();
        if (tokens.length != n || logits.length != n) {
            throw new IllegalArgumentException("step: " + n + " sessions, " + tokens.length + " token lists, " + logits.length + " logit arrays");
        }
        java.util.ArrayList<Session> decoding = new java.util.ArrayList<>();
        java.util.ArrayList<float[]> decodingLogits = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            Session s = sessions.get(i);
            if (tokens[i].length == 0) {
                throw new IllegalArgumentException("step: session " + i + " has no tokens");
            }
            if ((long) s.position() + tokens[i].length > s.contextLength()) {
                throw new ContextOverflowException(s.position(), tokens[i].length, s.contextLength());
            }
            for (int j = 0; j < i; j++) {
                if (sessions.get(j) == s) {
                    throw new IllegalArgumentException("step: the same session appears twice");
                }
            }
        }
        int[] decodingTokens = new int[n];
        for (int i = 0; i < n; i++) {
            if (tokens[i].length == 1) {
                decodingTokens[decoding.size()] = tokens[i][0];
                decoding.add(sessions.get(i));
                decodingLogits.add(logits[i] != null ? logits[i] : new float[config().vocabSize()]);
            } else {
                prefill(sessions.get(i), tokens[i], logits[i] != null ? logits[i] : new float[config().vocabSize()]);
            }
        }
        if (!decoding.isEmpty()) {
            decode(decoding, java.util.Arrays.copyOf(decodingTokens, decoding.size()), decodingLogits.toArray(new float[0][]));
        }
    }

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
