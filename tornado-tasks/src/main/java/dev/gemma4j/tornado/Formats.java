package dev.gemma4j.tornado;

import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Decoding of the GGUF weight formats inside kernels, from the raw blocks as they are stored in the file
 * (spec §4). Everything here is plain integer and float arithmetic that TornadoVM can compile for every
 * backend: no {@code HalfFloat} (PoCL 3.1 has no fp16), no {@code Float.intBitsToFloat}; powers of two come
 * from a small table ({@link #pow2Table()}) so that f16, bf16 and E8M0 scales decode exactly, subnormals and
 * infinities included. Bytes are widened with {@link #ub} rather than {@code b & 0xFF}, which TornadoVM's
 * OpenCL code generator types as unsigned so that a later subtraction wraps (notes/tornadovm.md, item 3).
 */
final class Formats {
    /** Format codes passed to the kernels as (specialised) scalars. */
    static final int F32 = 0;
    static final int F16 = 1;
    static final int BF16 = 2;
    static final int Q8_0 = 3;
    static final int Q4_0 = 4;
    static final int Q5_0 = 5;
    static final int Q4_K = 6;
    static final int Q6_K = 7;
    static final int MXFP4 = 8;

    /** {@code pow2[k] = 2^(k − POW2_ZERO)}; the last entry overflows to +∞ (decodes f16/bf16 inf and NaN codes as non-finite). */
    static final int POW2_ZERO = 160;
    static final int POW2_SIZE = 320;
    static final int POW2_INF = POW2_SIZE - 1;

    private Formats() {
    }

    static FloatArray pow2Table() {
        FloatArray t = new FloatArray(POW2_SIZE);
        for (int k = 0; k < POW2_SIZE; k++) {
            t.set(k, Math.scalb(1f, k - POW2_ZERO));
        }
        return t;
    }

    /** A byte as 0..255 without the {@code & 0xFF} pattern. */
    static int ub(byte b) {
        return (((b >> 4) & 0xF) << 4) | (b & 0xF);
    }

    /** IEEE half at byte {@code p} (little-endian), exactly. */
    static float f16(ByteArray w, int p, FloatArray pow2) {
        int h = (ub(w.get(p + 1)) << 8) | ub(w.get(p));
        int e = (h >> 10) & 0x1F;
        int m = h & 0x3FF;
        float mant = e == 0 ? m : 1024 + m;
        int idx = e == 31 ? POW2_INF : (e == 0 ? 1 : e) - 25 + POW2_ZERO;
        float v = mant * pow2.get(idx);
        return (h >> 15) != 0 ? -v : v;
    }

    /**
     * The IEEE half bits of {@code x} (0..0xFFFF), rounded to nearest even exactly as {@code Float.floatToFloat16}:
     * ±0, subnormals, overflow to ±∞ at 65520 and above, ties to even. TornadoVM 5.2 cannot reinterpret a
     * float's bits on any backend (its {@code emitReinterpret} is unimplemented), so this works on the value:
     * the exponent is found by halving, the scaling by a power of two is exact, and {@code (t + 2^23) − 2^23}
     * rounds {@code t < 2^23} to an integer, half to even. A NaN becomes the quiet NaN 0x7E00 (its payload and
     * sign cannot be read without the bits; Java keeps them, a NaN either way).
     */
    static int toF16(float x) {
        int bits;
        if (x != x) {
            bits = 0x7E00;
        } else {
            // the sign of −0 shows only in 1/x (one comparison: TornadoVM 5.2's OpenCL code generator printed
            // "x < 0 || (x == 0 && 1/x < 0)" with a wrongly negated second term)
            float signed = x == 0f ? 1f / x : x;
            int sign = signed < 0f ? 0x8000 : 0;
            float a = Math.abs(x);
            if (a >= 65520f) {
                bits = sign | 0x7C00;
            } else {
                // e = max(floor(log2 a), −14) and scale = 2^(10 − e): a·scale is the significand in units of the
                // last place, [1024, 2048) for normal halves, [0, 1024) for subnormal ones (exponent field 0)
                int e = 15;
                float p = 32768f;
                float scale = 0.03125f;
                while (e > -14 && a < p) {
                    p *= 0.5f;
                    scale *= 2f;
                    e--;
                }
                float t = a * scale;
                float r = (t + 8388608f) - 8388608f;
                // a carry out of the significand (r = 2048, or 1024 from a subnormal) lands in the exponent field
                bits = sign | (((e + 14) << 10) + (int) r);
            }
        }
        return bits;
    }

    /** The value of IEEE half bits {@code h} (the low 16 bits; a short's sign extension is ignored), exactly. */
    static float fromF16(int h, FloatArray pow2) {
        int e = (h >> 10) & 0x1F;
        int m = h & 0x3FF;
        float mant = e == 0 ? m : 1024 + m;
        int idx = e == 31 ? POW2_INF : (e == 0 ? 1 : e) - 25 + POW2_ZERO;
        float v = mant * pow2.get(idx);
        if (e == 31 && m != 0) {
            v = v - v; // ∞ − ∞: a NaN code decodes to a NaN, not ∞
        }
        return ((h >> 15) & 1) != 0 ? -v : v;
    }

    /** bf16 at byte {@code p}: the upper half of an f32. */
    static float bf16(ByteArray w, int p, FloatArray pow2) {
        int h = (ub(w.get(p + 1)) << 8) | ub(w.get(p));
        int e = ((h >> 7) & 0xF) | (((h >> 11) & 0xF) << 4);
        int m = h & 0x7F;
        float mant = e == 0 ? m : 128 + m;
        int idx = e == 255 ? POW2_INF : (e == 0 ? 1 : e) - 134 + POW2_ZERO;
        float v = mant * pow2.get(idx);
        return (h >> 15) != 0 ? -v : v;
    }

    /** MXFP4 code (E2M1) times two: 0, 1, 2, 3, 4, 6, 8, 12 and their negatives (8 is +0). */
    static int e2m1x2(int n) {
        int m = n & 7;
        int v = m < 4 ? m : (m < 6 ? 4 + 2 * (m - 4) : 8 + 4 * (m - 6));
        return (n & 8) != 0 ? -v : v;
    }

    /** Q4_K / Q5_K 6-bit scale of sub-block j (0..7) from the 12 packed bytes at {@code sc}. */
    static int kScale(ByteArray w, int sc, int j) {
        return j < 4 ? w.get(sc + j) & 63 : (w.get(sc + j + 4) & 0xF) | (((w.get(sc + j - 4) >> 6) & 3) << 4);
    }

    /** Q4_K 6-bit min of sub-block j. */
    static int kMin(ByteArray w, int sc, int j) {
        return j < 4 ? w.get(sc + j + 4) & 63 : ((w.get(sc + j + 4) >> 4) & 0xF) | (((w.get(sc + j) >> 6) & 3) << 4);
    }

    static float dotQ8_0(ByteArray w, int p, FloatArray x, int xi, FloatArray pow2) {
        float s = 0f;
        for (int j = 0; j < 32; j++) {
            s += w.get(p + 2 + j) * x.get(xi + j);
        }
        return f16(w, p, pow2) * s;
    }

    static float dotQ4_0(ByteArray w, int p, FloatArray x, int xi, FloatArray pow2) {
        float s = 0f;
        for (int j = 0; j < 16; j++) {
            byte b = w.get(p + 2 + j);
            s += ((b & 0xF) - 8) * x.get(xi + j) + (((b >> 4) & 0xF) - 8) * x.get(xi + j + 16);
        }
        return f16(w, p, pow2) * s;
    }

    static float dotQ5_0(ByteArray w, int p, FloatArray x, int xi, FloatArray pow2) {
        int qh = ub(w.get(p + 2)) | (ub(w.get(p + 3)) << 8) | (ub(w.get(p + 4)) << 16) | (ub(w.get(p + 5)) << 24);
        float s = 0f;
        for (int j = 0; j < 16; j++) {
            byte b = w.get(p + 6 + j);
            int lo = ((b & 0xF) | (((qh >> j) & 1) << 4)) - 16;
            int hi = (((b >> 4) & 0xF) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            s += lo * x.get(xi + j) + hi * x.get(xi + j + 16);
        }
        return f16(w, p, pow2) * s;
    }

    static float dotMxfp4(ByteArray w, int p, FloatArray x, int xi, FloatArray pow2) {
        float s = 0f;
        for (int j = 0; j < 16; j++) {
            byte b = w.get(p + 1 + j);
            s += e2m1x2(b & 0xF) * x.get(xi + j) + e2m1x2((b >> 4) & 0xF) * x.get(xi + j + 16);
        }
        // 2^(e − 128): the E8M0 scale halved, because the table values are doubled
        return pow2.get(ub(w.get(p)) - 128 + POW2_ZERO) * s;
    }

    /** Sub-block j (0..7) of the Q4_K super-block at p. */
    static float dotQ4K(ByteArray w, int p, int j, FloatArray x, int xi, FloatArray pow2) {
        int q = p + 16 + 32 * (j >> 1);
        int shift = 4 * (j & 1);
        float s = 0f;
        float sx = 0f;
        for (int l = 0; l < 32; l++) {
            float xv = x.get(xi + l);
            s += ((w.get(q + l) >> shift) & 0xF) * xv;
            sx += xv;
        }
        return f16(w, p, pow2) * kScale(w, p + 4, j) * s - f16(w, p + 2, pow2) * kMin(w, p + 4, j) * sx;
    }

    /** Group i (0..7, 32 outputs: half i/4, quarter i%4) of the Q6_K super-block at p. */
    static float dotQ6K(ByteArray w, int p, int i, FloatArray x, int xi, FloatArray pow2) {
        int h = i >> 2;
        int k = i & 3;
        int ql = p + 64 * h + 32 * (k & 1);
        int qh = p + 128 + 32 * h;
        int shiftLo = 4 * (k >> 1);
        int shiftHi = 2 * k;
        int sc = p + 192 + 8 * h + 2 * k;
        float s0 = 0f;
        float s1 = 0f;
        for (int l = 0; l < 16; l++) {
            int q0 = (((w.get(ql + l) >> shiftLo) & 0xF) | (((w.get(qh + l) >> shiftHi) & 3) << 4)) - 32;
            int q1 = (((w.get(ql + l + 16) >> shiftLo) & 0xF) | (((w.get(qh + l + 16) >> shiftHi) & 3) << 4)) - 32;
            s0 += q0 * x.get(xi + l);
            s1 += q1 * x.get(xi + l + 16);
        }
        return f16(w, p + 208, pow2) * (w.get(sc) * s0 + w.get(sc + 1) * s1);
    }

    static float elementQ4_0(ByteArray w, int p, int j, FloatArray pow2) {
        byte b = w.get(p + 2 + (j & 15));
        int nib = j < 16 ? b & 0xF : (b >> 4) & 0xF;
        return f16(w, p, pow2) * (nib - 8);
    }

    static float elementQ5_0(ByteArray w, int p, int j, FloatArray pow2) {
        byte b = w.get(p + 6 + (j & 15));
        int nib = j < 16 ? b & 0xF : (b >> 4) & 0xF;
        int qh = ub(w.get(p + 2)) | (ub(w.get(p + 3)) << 8) | (ub(w.get(p + 4)) << 16) | (ub(w.get(p + 5)) << 24);
        return f16(w, p, pow2) * ((nib | (((qh >> j) & 1) << 4)) - 16);
    }

    static float elementMxfp4(ByteArray w, int p, int j, FloatArray pow2) {
        byte b = w.get(p + 1 + (j & 15));
        int nib = j < 16 ? b & 0xF : (b >> 4) & 0xF;
        return pow2.get(ub(w.get(p)) - 128 + POW2_ZERO) * e2m1x2(nib);
    }

    /** Element k (0..255) of the Q4_K super-block at p. */
    static float elementQ4K(ByteArray w, int p, int k, FloatArray pow2) {
        int c = k >> 6;
        int half = (k >> 5) & 1;
        int l = k & 31;
        int j = 2 * c + half;
        int q = (w.get(p + 16 + 32 * c + l) >> (4 * half)) & 0xF;
        return f16(w, p, pow2) * kScale(w, p + 4, j) * q - f16(w, p + 2, pow2) * kMin(w, p + 4, j);
    }

    /** Element k (0..255) of the Q6_K super-block at p. */
    static float elementQ6K(ByteArray w, int p, int k, FloatArray pow2) {
        int h = k >> 7;
        int kq = (k >> 5) & 3;
        int l = k & 31;
        int lo = (w.get(p + 64 * h + 32 * (kq & 1) + l) >> (4 * (kq >> 1))) & 0xF;
        int hi = (w.get(p + 128 + 32 * h + l) >> (2 * kq)) & 3;
        return f16(w, p + 208, pow2) * w.get(p + 192 + 8 * h + 2 * kq + (l >> 4)) * ((lo | (hi << 4)) - 32);
    }
}
