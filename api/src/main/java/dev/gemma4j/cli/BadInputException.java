package dev.gemma4j.cli;

/** User input the command cannot work with (exit code 2). */
public final class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }
}
