package dev.gemma4j.engine;

/**
 * One sequence being evaluated: its KV cache and position. Sessions of an engine are independent of each
 * other; the model they run is shared and read-only. A session is used by one caller at a time.
 */
public interface Session extends AutoCloseable {

    /** Tokens evaluated so far (the position the next token will take). */
    int position();

    /** Tokens this session can hold. */
    int contextLength();

    /** Forgets every evaluated token (position back to 0). */
    void reset();

    /** Releases the session's cache; the session cannot be used afterwards. */
    @Override
    void close();
}
