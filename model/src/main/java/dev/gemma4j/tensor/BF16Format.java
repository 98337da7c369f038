package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/** BF16: the upper 16 bits of an f32, two little-endian bytes per element. */
final class BF16Format implements TensorFormat {

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    static float bf16(MemorySegment src, long off) {
        return Float.intBitsToFloat(src.get(Bits.SHORT_LE, off) << 16);
    }

    /** ggml's rounding: nearest, ties to even; NaN keeps its top bits and is made quiet. */
    static short toBf16(float v) {
        int u = Float.floatToRawIntBits(v);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        if (Simd.VECTOR) {
            dequantizeGeneric(src, offset, dst, dstOffset, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = bf16(src, offset + 2L * i);
        }
    }

    /** Same values as the scalar loop (the 16 bits as a float's top half), at any width: prefill's tile decoding. */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int i = 0;
        for (; i + Simd.VL <= n; i += Simd.VL) {
            ShortVector h = ShortVector.fromMemorySegment(Simd.VS, src, offset + 2L * i, Simd.LE);
            ((IntVector) h.convertShape(VectorOperators.S2I, Simd.VI, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    .intoArray(dst, dstOffset + i);
        }
        for (; i < n; i++) {
            dst[dstOffset + i] = bf16(src, offset + 2L * i);
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n)
                : Simd.VECTOR ? dotGeneric(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    /** Any width: VL halves widened to ints and shifted into the high half of a float; two accumulators. */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector a0 = FloatVector.zero(Simd.V);
        FloatVector a1 = FloatVector.zero(Simd.V);
        int step = Simd.VL;
        int i = 0;
        for (; i + 2 * step <= n; i += 2 * step) {
            for (int k = 0; k < 2; k++) {
                ShortVector h = ShortVector.fromMemorySegment(Simd.VS, src, offset + 2L * (i + k * step), Simd.LE);
                FloatVector w = ((IntVector) h.convertShape(VectorOperators.S2I, Simd.VI, 0)).lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats();
                if (k == 0) {
                    a0 = w.fma(FloatVector.fromArray(Simd.V, x, xOffset + i), a0);
                } else {
                    a1 = w.fma(FloatVector.fromArray(Simd.V, x, xOffset + i + step), a1);
                }
            }
        }
        float s = Simd.sum(a0.add(a1));
        for (; i < n; i++) {
            s += bf16(src, offset + 2L * i) * x[xOffset + i];
        }
        return s;
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += bf16(src, offset + 2L * i) * x[xOffset + i];
        }
        return s;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            ShortVector h = ShortVector.fromMemorySegment(Simd.S, src, offset + 2L * i, Simd.LE);
            IntVector bits = ((IntVector) h.convertShape(VectorOperators.S2I, Simd.I, 0)).lanewise(VectorOperators.LSHL, 16);
            acc = bits.reinterpretAsFloats().fma(Simd.x(x, xOffset + i), acc);
        }
        float s = Simd.sum(acc);
        for (; i < n; i++) {
            s += bf16(src, offset + 2L * i) * x[xOffset + i];
        }
        return s;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) {
            dst.set(Bits.SHORT_LE, offset + 2L * i, toBf16(src[srcOffset + i]));
        }
    }
}
