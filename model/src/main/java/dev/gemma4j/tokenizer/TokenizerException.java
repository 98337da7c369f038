package dev.gemma4j.tokenizer;

/**
 * The tokenizer metadata of a model is missing, of the wrong type, or inconsistent. The message names the
 * metadata key and what is wrong with it.
 */
public final class TokenizerException extends RuntimeException {
    private final String key;

    public TokenizerException(String key, String problem) {
        super(key + ": " + problem);
        this.key = key;
    }

    /** The metadata key at fault. */
    public String key() {
        return key;
    }
}
