package dev.gemma4j.engine;

/**
 * A host copy of the part of a session's state that truncation alone cannot bring back: the keys and values
 * the sliding-window layers' rings held for the last window before {@link #position()}. Global layers keep
 * every position, so they need no copy; the checkpoint stays restorable into its own session only as long as
 * that session has not gone back (truncated, reset or restored) below {@link #position()}.
 * Close it to release its memory.
 */
public interface SessionCheckpoint extends AutoCloseable {

    /** The session position the checkpoint was taken at. */
    int position();

    /**
     * After {@link Session#restore}, the session can be truncated to any position in
     * {@code [earliestPosition(), position()]}.
     */
    int earliestPosition();

    /** Host memory the checkpoint holds. */
    long bytes();

    /** Whether {@link Session#restore} still accepts it (its session unchanged below its position, not closed). */
    boolean valid();

    /** Releases the memory; the checkpoint is invalid afterwards. Closing twice does nothing. */
    @Override
    void close();
}
