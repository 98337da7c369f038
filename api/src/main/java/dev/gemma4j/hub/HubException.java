package dev.gemma4j.hub;

import java.io.IOException;

/**
 * A failure of getting a model, worded for the person who asked: one line saying what went wrong and,
 * where there is one, what to do. {@link #badInput()} tells the CLI whether the request was at fault
 * (exit 2: no such repository, tag, licence not accepted) or the world was (exit 1: network, hub, disk).
 */
public final class HubException extends IOException {
    private final boolean badInput;

    private HubException(String message, boolean badInput, Throwable cause) {
        super(message, cause);
        this.badInput = badInput;
    }

    public static HubException badInput(String message) {
        return new HubException(message, true, null);
    }

    public static HubException failure(String message) {
        return new HubException(message, false, null);
    }

    public static HubException failure(String message, Throwable cause) {
        return new HubException(message, false, cause);
    }

    public boolean badInput() {
        return badInput;
    }
}
