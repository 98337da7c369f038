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

    /**
     * The smallest position other than 0 that {@link #truncate} can go back to now. A global layer keeps every
     * position, but a sliding-window layer keeps only a ring of recent ones: going back to {@code p} needs the
     * keys of every position a query at {@code p} sees ({@link dev.gemma4j.model.Gemma4Math#firstVisiblePosition})
     * still in the ring. A backend without truncation answers {@link #position()}.
     */
    default int truncationFloor() {
        return position();
    }

    /**
     * Keeps the first {@code n} evaluated tokens and forgets the rest, so the next token is evaluated at
     * position {@code n}; the state is then exactly that of a session that evaluated only those {@code n}
     * tokens. Any {@code n} in {@code [truncationFloor(), position()]} and 0 are accepted.
     *
     * @throws IllegalArgumentException for any other {@code n} (the session is unchanged)
     */
    default void truncate(int n) {
        if (n == 0) {
            reset();
        } else if (n != position()) {
            throw new IllegalArgumentException("this backend cannot truncate a session (position " + position() + " to " + n + ")");
        }
    }

    /**
     * A host copy of the sliding-window state at the current position, which {@link #restore} brings back
     * after the ring has moved on; empty when the backend does not support checkpoints.
     */
    default java.util.Optional<SessionCheckpoint> checkpoint() {
        return java.util.Optional.empty();
    }

    /**
     * Puts the session back at {@code checkpoint.position()} with the sliding-window state it had then (the
     * global layers still hold those positions, which {@link SessionCheckpoint#valid()} guarantees).
     *
     * @throws IllegalArgumentException if the checkpoint is not a valid one of this session
     */
    default void restore(SessionCheckpoint checkpoint) {
        throw new IllegalArgumentException("this backend does not restore checkpoints");
    }

    /** Releases the session's cache; the session cannot be used afterwards. */
    @Override
    void close();
}
