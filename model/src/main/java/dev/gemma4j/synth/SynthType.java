package dev.gemma4j.synth;

import dev.gemma4j.model.Gemma4Gguf.LayerTensor;
import dev.gemma4j.model.Gemma4Gguf;
import dev.gemma4j.tensor.GgmlType;
import java.util.Locale;

/**
 * The weight types {@code synth} writes, named like llama.cpp's file types. The plain types put every
 * 2-D/3-D weight in one format (1-D tensors and the router stay F32). The mixes Q4_K_M, Q6_K and
 * MXFP4_MOE pick each tensor's format the way llama-quantize does for this architecture (see
 * {@link #tensorType}).
 */
public enum SynthType {
    F32(0, GgmlType.F32, false),
    F16(1, GgmlType.F16, false),
    BF16(32, GgmlType.BF16, false),
    Q8_0(7, GgmlType.Q8_0, false),
    Q4_0(2, GgmlType.Q4_0, false),
    Q4_K_M(15, GgmlType.Q4_K, true),
    Q6_K(18, GgmlType.Q6_K, true),
    MXFP4_MOE(38, GgmlType.MXFP4, true);

    private final int fileType;
    private final GgmlType base;
    private final boolean mix;

    SynthType(int fileType, GgmlType base, boolean mix) {
        this.fileType = fileType;
        this.base = base;
        this.mix = mix;
    }

    /** The {@code general.file_type} value (llama.cpp's {@code LLAMA_FTYPE_*}). */
    public int fileType() {
        return fileType;
    }

    public static SynthType parse(String s) {
        String n = s.toUpperCase(Locale.ROOT).replace('-', '_');
        for (SynthType t : values()) {
            if (t.name().equals(n)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown type '" + s + "' (expected F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q6_K or MXFP4_MOE)");
    }

    /** What the type rules need to know about the whole model. */
    record ModelFacts(boolean tied, int experts, int layers, int attnVCount) {
    }

    /** llama-quantize's tensor categories (by name substring, in its order of tests). */
    enum Category { OUTPUT, TOKEN_EMBD, ATTN_V, ATTN_K, ATTN_Q, ATTN_OUTPUT, FFN_UP, FFN_GATE, FFN_DOWN, OTHER }

    static Category category(String name) {
        if (name.equals(Gemma4Gguf.OUTPUT)) {
            return Category.OUTPUT;
        }
        if (name.equals(Gemma4Gguf.TOKEN_EMBD)) {
            return Category.TOKEN_EMBD;
        }
        if (name.contains(LayerTensor.ATTN_V.suffix())) {
            return Category.ATTN_V;
        }
        if (name.contains(LayerTensor.ATTN_K.suffix())) {
            return Category.ATTN_K;
        }
        if (name.contains(LayerTensor.ATTN_Q.suffix())) {
            return Category.ATTN_Q;
        }
        if (name.contains(LayerTensor.ATTN_OUTPUT.suffix())) {
            return Category.ATTN_OUTPUT;
        }
        if (name.contains("ffn_up")) {
            return Category.FFN_UP;
        }
        if (name.contains("ffn_gate")) {
            return Category.FFN_GATE;
        }
        if (name.contains("ffn_down")) {
            return Category.FFN_DOWN;
        }
        return Category.OTHER;
    }

    /** Whether llama-quantize would quantize this tensor at all (2-D/3-D weights, no norms, no router). */
    static boolean quantizable(String name, long[] shape) {
        return shape.length >= 2 && name.endsWith("weight") && !name.contains("_norm.weight")
            && !name.contains(LayerTensor.FFN_GATE_INP.suffix());
    }

    /**
     * The format of one tensor. {@code attnVIndex} is the tensor's ordinal among the {@code attn_v}
     * tensors in file order (llama-quantize counts them as it goes), {@code layer} its block index.
     */
    GgmlType tensorType(String name, long[] shape, int layer, int attnVIndex, ModelFacts m) {
        if (this == F32 || !quantizable(name, shape)) {
            return GgmlType.F32;
        }
        if (!mix) {
            return fallback(base, shape[0]);
        }
        Category cat = category(name);
        GgmlType t = base;
        if (cat == Category.OUTPUT || (m.tied() && cat == Category.TOKEN_EMBD)) {
            if (this == MXFP4_MOE || shape[0] % t.blockElements() != 0) {
                t = GgmlType.Q8_0;
            } else if (t != GgmlType.Q8_0) {
                t = GgmlType.Q6_K;
            }
        } else if (this == MXFP4_MOE) {
            t = shape.length >= 3 && shape[2] > 1 ? GgmlType.MXFP4 : GgmlType.Q8_0;
        } else if (cat == Category.TOKEN_EMBD) {
            // no rule for these mixes: the default type
        } else if (cat == Category.ATTN_V) {
            if (this == Q4_K_M && useMoreBits(attnVIndex, m.attnVCount())) {
                t = GgmlType.Q6_K;
            }
            if (m.experts() == 8) {
                t = GgmlType.Q8_0;
            }
        } else if (cat == Category.ATTN_K) {
            if (m.experts() == 8) {
                t = GgmlType.Q8_0;
            }
        } else if (cat == Category.FFN_DOWN) {
            if (this == Q4_K_M && useMoreBits(layer, m.layers())) {
                t = GgmlType.Q6_K;
            }
        } else if (cat == Category.ATTN_OUTPUT) {
            if (this == Q4_K_M && m.experts() == 8) {
                t = GgmlType.Q5_K;
            }
        }
        return fallback(t, shape[0]);
    }

    /** llama-quantize's "use more bits" layers: the first and last eighth and every third in between. */
    static boolean useMoreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    /** Rows that are not whole 256-blocks get the 32-block substitute llama-quantize uses; else F16. */
    static GgmlType fallback(GgmlType t, long rowLength) {
        if (rowLength % t.blockElements() == 0) {
            return t;
        }
        GgmlType r = switch (t) {
            case Q2_K, Q3_K -> GgmlType.Q4_0;
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            case IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_XS -> GgmlType.IQ4_NL;
            default -> t;
        };
        return rowLength % r.blockElements() == 0 ? r : GgmlType.F16;
    }
}
