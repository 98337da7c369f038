package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Little-endian field access and the scalar rounding rules the ggml formats are defined with. */
final class Bits {
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The IQ4_NL / IQ4_XS codebook (spec §4.2). */
    static final byte[] IQ4_VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    /** MXFP4: E2M1 values times two, index 8 is +0 (spec §8.3). */
    static final byte[] MXFP4_VALUES = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

    private Bits() {
    }

    static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    static byte i8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off);
    }

    static void putU8(MemorySegment s, long off, int v) {
        s.set(ValueLayout.JAVA_BYTE, off, (byte) v);
    }

    /** An IEEE half at {@code off}, exactly widened (subnormals, inf and NaN included). */
    static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }

    /** Rounds to the nearest half, ties to even (ggml's GGML_FP32_TO_FP16). */
    static void putF16(MemorySegment s, long off, float v) {
        s.set(SHORT_LE, off, Float.floatToFloat16(v));
    }

    static int u16(MemorySegment s, long off) {
        return s.get(SHORT_LE, off) & 0xFFFF;
    }

    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Eight bytes at once: block headers are read in one or two loads and decoded with shifts. */
    static long i64(MemorySegment s, long off) {
        return s.get(LONG_LE, off);
    }

    /** Byte {@code i} (0..7) of a little-endian word, unsigned. */
    static int byteOf(long word, int i) {
        return (int) (word >>> (8 * i)) & 0xFF;
    }

    /** The half in bits {@code 16·i .. 16·i+15} of a word, widened. */
    static float halfOf(long word, int i) {
        return Float.float16ToFloat((short) (word >>> (16 * i)));
    }

    static int i32(MemorySegment s, long off) {
        return s.get(INT_LE, off);
    }

    /** 2^(e−128) as ggml builds it for MXFP4 (half the E8M0 scale; subnormal for e < 2). */
    static float e8m0Half(int e) {
        return Float.intBitsToFloat(e < 2 ? 0x00200000 << e : (e - 1) << 23);
    }

    /** Round to nearest, ties to even, for |v| < 2^22 (ggml's nearest_int bit trick). */
    static int nearestInt(float v) {
        float t = v + 12582912f;
        return (Float.floatToRawIntBits(t) & 0x007fffff) - 0x00400000;
    }

    /** C's roundf: nearest, ties away from zero. */
    static float roundHalfAway(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (float) Math.copySign(a, v);
    }

    /**
     * The element of {@code x[off .. off+n)} with the largest magnitude, sign kept: the first such element
     * on ties, 0 if all are 0 (the "max" of llama.cpp's symmetric block quantizers).
     */
    static float signedAbsMax(float[] x, int off, int n) {
        float amax = 0;
        float max = 0;
        for (int i = off; i < off + n; i++) {
            float ax = Math.abs(x[i]);
            if (ax > amax) {
                amax = ax;
                max = x[i];
            }
        }
        return max;
    }

    /** The smallest of {@code x[off .. off+n)} (NaNs are passed over). */
    static float min(float[] x, int off, int n) {
        float min = Float.MAX_VALUE;
        for (int i = off; i < off + n; i++) {
            if (x[i] < min) {
                min = x[i];
            }
        }
        return min;
    }

    /** The largest of {@code x[off .. off+n)} (NaNs are passed over). */
    static float max(float[] x, int off, int n) {
        float max = -Float.MAX_VALUE;
        for (int i = off; i < off + n; i++) {
            if (x[i] > max) {
                max = x[i];
            }
        }
        return max;
    }

    static void checkRow(TensorFormat f, int n) {
        if (n < 0 || n % f.blockElements() != 0) {
            throw new IllegalArgumentException(f.type() + " row length " + n + " is not a multiple of "
                    + f.blockElements());
        }
    }
}
