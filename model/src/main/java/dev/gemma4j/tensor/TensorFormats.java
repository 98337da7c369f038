package dev.gemma4j.tensor;

/** Registry of the implemented formats. */
final class TensorFormats {
    private TensorFormats() {
    }

    static TensorFormat of(GgmlType type) {
        throw new UnsupportedTensorTypeException(type, "no implementation yet");
    }
}
