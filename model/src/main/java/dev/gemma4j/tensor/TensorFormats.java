package dev.gemma4j.tensor;

import java.util.EnumMap;
import java.util.Map;

/** Registry of the implemented formats, by ggml type. */
final class TensorFormats {
    private static final Map<GgmlType, TensorFormat> FORMATS = new EnumMap<>(GgmlType.class);

    static {
        register(new F32Format());
        register(new F16Format());
        register(new BF16Format());
        register(new Q8_0Format());
        register(new Q4_0Format());
        register(new Q4_1Format());
        register(new Q5_0Format());
        register(new Q5_1Format());
        register(new IQ4_NLFormat());
        register(new MXFP4Format());
        register(new Q2_KFormat());
        register(new Q3_KFormat());
        register(new Q4_KFormat());
        register(new Q5_KFormat());
        register(new Q6_KFormat());
        register(new IQ4_XSFormat());
    }

    private TensorFormats() {
    }

    private static void register(TensorFormat f) {
        FORMATS.put(f.type(), f);
    }

    static TensorFormat of(GgmlType type) {
        TensorFormat f = FORMATS.get(type);
        if (f == null) {
            throw new UnsupportedTensorTypeException(type, whyNot(type));
        }
        return f;
    }

    private static String whyNot(GgmlType type) {
        return switch (type) {
            case IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S ->
                "the low-bit IQ formats need ggml's lattice tables and are not implemented yet;"
                        + " use a file quantized to IQ4_XS, Q4_K or above";
            case Q8_1, Q8_K -> "it is an activation format of ggml's dot products, not a weight format";
            case I8, I16, I32, I64, F64 -> "integer and f64 tensors are not model weights";
            default -> "this runtime cannot compute with it (Gemma 4 GGUF files do not use it)";
        };
    }
}
