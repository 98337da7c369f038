package dev.gemma4j.gguf;

import java.nio.file.Path;

/**
 * A GGUF file that cannot be read: names the file, the byte offset where reading failed and what was
 * expected there. Always the result of bad input, never of a bug in the reader.
 */
public final class GgufFormatException extends java.io.IOException {
    private final transient Path file;
    private final long offset;

    public GgufFormatException(Path file, long offset, String message) {
        super(file + " at byte " + offset + ": " + message);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    public long offset() {
        return offset;
    }
}
