package dev.gemma4j.engine;

/** Evaluating more tokens than a session's context length. Nothing is evaluated when this is thrown. */
public final class ContextOverflowException extends IllegalStateException {
    public ContextOverflowException(int position, int adding, int contextLength) {
        super("context length exceeded: the session holds " + position + " tokens, adding " + adding
            + " would exceed its context length of " + contextLength);
    }
}
