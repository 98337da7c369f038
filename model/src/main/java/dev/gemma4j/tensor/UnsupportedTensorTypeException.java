package dev.gemma4j.tensor;

/** A tensor whose ggml type this runtime can read from a header but cannot compute with. */
public final class UnsupportedTensorTypeException extends RuntimeException {
    private final GgmlType type;

    public UnsupportedTensorTypeException(GgmlType type, String detail) {
        super("tensor type " + type + " is not supported" + (detail == null ? "" : ": " + detail));
        this.type = type;
    }

    public GgmlType type() {
        return type;
    }
}
