package dev.gemma4j.cpu;

import dev.gemma4j.tensor.GgmlType;

/**
 * The rounding llama.cpp's CPU backend applies to an activation row before dotting it with weights of a
 * given type (spec §3.7, §8.3): F16/BF16 weights see the activation rounded to f16/bf16; 32-element-block
 * quants see it quantized to 8 bits per block of 32 (Q8_0 / Q8_1, scale stored as f16); K-quants and
 * the IQ types see it quantized to 8 bits per block of 256 (Q8_K, scale kept in f32). Applying the same
 * rounding (and then f32 arithmetic) reproduces llama.cpp's integer dot products up to summation order,
 * which is what keeps quantized models within a few hundredths of a logit of it rather than tenths.
 */
enum ActivationRounding {
    NONE, F16, BF16, Q8_BLOCK32, Q8_K;

    static ActivationRounding forWeights(GgmlType t) {
        return switch (t) {
            case F32 -> NONE;
            case F16 -> F16;
            case BF16 -> BF16;
            case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 -> Q8_BLOCK32;
            default -> Q8_K;
        };
    }

    /** Writes the rounded copy of {@code x[xo .. xo+n)} to {@code dst[dsto ..]}. */
    void apply(float[] x, int xo, float[] dst, int dsto, int n) {
        switch (this) {
            case NONE -> System.arraycopy(x, xo, dst, dsto, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dsto + i] = Float.float16ToFloat(Float.floatToFloat16(x[xo + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dsto + i] = bf16(x[xo + i]);
                }
            }
            case Q8_BLOCK32 -> {
                for (int b = 0; b + 32 <= n; b += 32) {
                    q8Block32(x, xo + b, dst, dsto + b);
                }
            }
            case Q8_K -> {
                for (int b = 0; b + 256 <= n; b += 256) {
                    q8K(x, xo + b, dst, dsto + b);
                }
            }
        }
    }

    private static float bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return Float.intBitsToFloat((u | 0x00400000) & 0xffff0000);
        }
        u = (u + (0x7fff + ((u >>> 16) & 1))) & 0xffff0000;
        return Float.intBitsToFloat(u);
    }

    /** Q8_0: d = amax/127, q = nearest(x·127/amax), value = f16(d)·q. */
    private static void q8Block32(float[] x, int xo, float[] dst, int dsto) {
        float amax = 0;
        for (int i = 0; i < 32; i++) {
            amax = Math.max(amax, Math.abs(x[xo + i]));
        }
        float d = amax / 127f;
        float id = amax != 0f ? 127f / amax : 0f;
        float dh = Float.float16ToFloat(Float.floatToFloat16(d));
        for (int i = 0; i < 32; i++) {
            dst[dsto + i] = dh * (float) Math.rint(x[xo + i] * id);
        }
    }

    /** Q8_K: m = the element of largest magnitude (sign kept), q = min(127, nearest(−127/m·x)), value = (1/(−127/m))·q. */
    private static void q8K(float[] x, int xo, float[] dst, int dsto) {
        float amax = 0;
        float max = 0;
        for (int i = 0; i < 256; i++) {
            float a = Math.abs(x[xo + i]);
            if (a > amax) {
                amax = a;
                max = x[xo + i];
            }
        }
        if (amax == 0f) {
            java.util.Arrays.fill(dst, dsto, dsto + 256, 0f);
            return;
        }
        float iscale = -127f / max;
        float d = 1f / iscale;
        for (int i = 0; i < 256; i++) {
            int q = Math.min(127, (int) Math.rint(iscale * x[xo + i]));
            dst[dsto + i] = d * q;
        }
    }
}
