package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/** F16: IEEE binary16, two little-endian bytes per element. */
final class F16Format implements TensorFormat {

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        if (Simd.VECTOR) {
            dequantizeGeneric(src, offset, dst, dstOffset, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Bits.f16(src, offset + 2L * i);
        }
    }

    /** Same values as the scalar loop ({@link #dotGeneric}'s exact conversion), at any width: prefill's tile decoding. */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int i = 0;
        for (; i + Simd.VL <= n; i += Simd.VL) {
            ShortVector h16 = ShortVector.fromMemorySegment(Simd.VS, src, offset + 2L * i, Simd.LE);
            IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, Simd.VI, 0);
            IntVector magnitude = h.lanewise(VectorOperators.AND, MAGNITUDE_I);
            IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
            IntVector finite = shifted.reinterpretAsFloats().lanewise(VectorOperators.MUL, SCALE_112).reinterpretAsInts();
            VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, INF_I);
            finite.blend(shifted.lanewise(VectorOperators.OR, EXP_ALL_I), special)
                    .lanewise(VectorOperators.OR, h.lanewise(VectorOperators.AND, SIGN_I))
                    .reinterpretAsFloats().intoArray(dst, dstOffset + i);
        }
        for (; i < n; i++) {
            dst[dstOffset + i] = Bits.f16(src, offset + 2L * i);
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n)
                : Simd.VECTOR ? dotGeneric(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    private static final IntVector MAGNITUDE_I = IntVector.broadcast(Simd.VI, 0x7fff);
    // S2I sign-extends: the half's sign is bit 31 of the widened int.
    private static final IntVector SIGN_I = IntVector.broadcast(Simd.VI, 0x80000000);
    private static final IntVector INF_I = IntVector.broadcast(Simd.VI, 0x7c00);
    private static final IntVector EXP_ALL_I = IntVector.broadcast(Simd.VI, 0x7f800000);
    private static final FloatVector SCALE_112 = FloatVector.broadcast(Simd.V, 0x1p112f);

    /**
     * Any width: halves widened to ints; magnitude << 13 times 2^112 is the exact float of every finite
     * half (normal or subnormal), Inf/NaN by a blend, then the sign. Two accumulators.
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector a0 = FloatVector.zero(Simd.V);
        FloatVector a1 = FloatVector.zero(Simd.V);
        int step = Simd.VL;
        int i = 0;
        for (; i + 2 * step <= n; i += 2 * step) {
            for (int k = 0; k < 2; k++) {
                ShortVector h16 = ShortVector.fromMemorySegment(Simd.VS, src, offset + 2L * (i + k * step), Simd.LE);
                IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, Simd.VI, 0);
                IntVector magnitude = h.lanewise(VectorOperators.AND, MAGNITUDE_I);
                IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
                IntVector finite = shifted.reinterpretAsFloats().lanewise(VectorOperators.MUL, SCALE_112).reinterpretAsInts();
                VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, INF_I);
                FloatVector w = finite.blend(shifted.lanewise(VectorOperators.OR, EXP_ALL_I), special)
                        .lanewise(VectorOperators.OR, h.lanewise(VectorOperators.AND, SIGN_I))
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
            s += Bits.f16(src, offset + 2L * i) * x[xOffset + i];
        }
        return s;
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += Bits.f16(src, offset + 2L * i) * x[xOffset + i];
        }
        return s;
    }

    /** 16 halves to floats exactly: rescale the exponent by 2^112 (exact for normals and subnormals), patch inf/NaN. */
    static FloatVector halfToFloat(ShortVector h16) {
        // S2I sign-extends, so the half's sign is already bit 31 of h.
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, Simd.I, 0);
        IntVector magnitude = h.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7c00);
        IntVector bits = finite.blend(shifted.or(0x7f800000), special).or(h.and(0x80000000));
        return bits.reinterpretAsFloats();
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        // Two accumulators: with one, every 16 halves waited on the previous multiply-add.
        FloatVector acc0 = FloatVector.zero(Simd.F);
        FloatVector acc1 = FloatVector.zero(Simd.F);
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            ShortVector h0 = ShortVector.fromMemorySegment(Simd.S, src, offset + 2L * i, Simd.LE);
            ShortVector h1 = ShortVector.fromMemorySegment(Simd.S, src, offset + 2L * (i + 16), Simd.LE);
            acc0 = halfToFloat(h0).fma(Simd.x(x, xOffset + i), acc0);
            acc1 = halfToFloat(h1).fma(Simd.x(x, xOffset + i + 16), acc1);
        }
        for (; i + 16 <= n; i += 16) {
            ShortVector h = ShortVector.fromMemorySegment(Simd.S, src, offset + 2L * i, Simd.LE);
            acc0 = halfToFloat(h).fma(Simd.x(x, xOffset + i), acc0);
        }
        float s = Simd.sum(acc0.add(acc1));
        for (; i < n; i++) {
            s += Bits.f16(src, offset + 2L * i) * x[xOffset + i];
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
            Bits.putF16(dst, offset + 2L * i, src[srcOffset + i]);
        }
    }
}
