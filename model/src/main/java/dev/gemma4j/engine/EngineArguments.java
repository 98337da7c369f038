package dev.gemma4j.engine;

/**
 * The argument checks every {@link Engine} backend applies the same way, so that a caller gets the same
 * error whichever backend a profile chose.
 */
public final class EngineArguments {
    private EngineArguments() {
    }

    /** Fails unless {@code token} is a vocabulary id (0 .. vocabSize-1). */
    public static void checkToken(int token, int vocabSize) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
        }
    }

    /** Fails unless {@code logits} can receive one score per vocabulary entry. */
    public static void checkLogits(float[] logits, int vocabSize) {
        if (logits == null || logits.length != vocabSize) {
            throw new IllegalArgumentException("logits array must have the vocabulary size " + vocabSize);
        }
    }
}
