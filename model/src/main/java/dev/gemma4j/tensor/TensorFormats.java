package dev.gemma4j.tensor;

import java.util.EnumMap;
import java.util.Map;

/** Registry of the implemented formats. */
final class TensorFormats {
    private static final Map<GgmlType, TensorFormat> FORMATS = new EnumMap<>(GgmlType.class);

    static {
        register(new F32Format());
    }

    private TensorFormats() {
    }

    private static void register(TensorFormat f) {
        FORMATS.put(f.type(), f);
    }

    static TensorFormat of(GgmlType type) {
        TensorFormat f = FORMATS.get(type);
        if (f == null) {
            throw new UnsupportedTensorTypeException(type, "this runtime cannot compute with it");
        }
        return f;
    }
}
