package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/** IQ4_NL: 18-byte blocks of 32: d:f16, qs[16]; y = d·K[nibble] with the non-linear codebook K. */
final class IQ4_NLFormat implements TensorFormat {
    private static final int BLOCK = 18;

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_NL;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        if (Simd.VECTOR) {
            dequantizeGeneric(src, offset, dst, dstOffset, n);
            return;
        }
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p);
            int o = dstOffset + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bits.u8(src, p + 2 + j);
                dst[o + j] = d * Bits.IQ4_VALUES[q & 15];
                dst[o + j + 16] = d * Bits.IQ4_VALUES[q >> 4];
            }
        }
    }

    /** Same values as the scalar loop ({@code d·K[nibble]}), at any width: prefill's tile decoding (as {@link #dotGeneric}). */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            FloatVector d = FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p)));
            int o = dstOffset + 32 * b;
            ByteVector q = ByteVector.fromMemorySegment(Simd.B, src, p + 2, Simd.LE);
            ByteVector lo = q.selectFrom(Simd.IQ4_TABLE);
            ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().selectFrom(Simd.IQ4_TABLE);
            for (int j = 0; j < 16; j += Simd.VL) {
                ((FloatVector) ((IntVector) lo.convertShape(VectorOperators.B2I, Simd.VI, 0)).convertShape(VectorOperators.I2F, Simd.V, 0))
                        .mul(d).intoArray(dst, o + j);
                ((FloatVector) ((IntVector) hi.convertShape(VectorOperators.B2I, Simd.VI, 0)).convertShape(VectorOperators.I2F, Simd.V, 0))
                        .mul(d).intoArray(dst, o + 16 + j);
                lo = lo.rearrange(Simd.NEXT_VL);
                hi = hi.rearrange(Simd.NEXT_VL);
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        Bits.checkRow(this, n);
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n)
                : Simd.VECTOR ? dotGeneric(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    /**
     * 128 and 256 bits, as {@link MXFP4Format#dotGeneric}: the 16 code bytes in one load, both nibbles looked
     * up in {@link Simd#IQ4_TABLE} by a byte shuffle, widened {@link Simd#VL} values at a time from the bottom
     * of the vector (moved down by {@link Simd#NEXT_VL}); the block scale by one multiply-add per block.
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            FloatVector s0 = FloatVector.zero(Simd.V);
            FloatVector s1 = FloatVector.zero(Simd.V);
            ByteVector q = ByteVector.fromMemorySegment(Simd.B, src, p + 2, Simd.LE);
            ByteVector lo = q.selectFrom(Simd.IQ4_TABLE);
            ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().selectFrom(Simd.IQ4_TABLE);
            for (int j = 0; j < 16; j += Simd.VL) {
                IntVector l = (IntVector) lo.convertShape(VectorOperators.B2I, Simd.VI, 0);
                IntVector h = (IntVector) hi.convertShape(VectorOperators.B2I, Simd.VI, 0);
                s0 = ((FloatVector) l.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j), s0);
                s1 = ((FloatVector) h.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j + 16), s1);
                lo = lo.rearrange(Simd.NEXT_VL);
                hi = hi.rearrange(Simd.NEXT_VL);
            }
            acc = s0.add(s1).fma(FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p))), acc);
        }
        return Simd.sum(acc);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = Bits.u8(src, p + 2 + j);
                s += Bits.IQ4_VALUES[q & 15] * x[xi + j] + Bits.IQ4_VALUES[q >> 4] * x[xi + j + 16];
            }
            sum += Bits.f16(src, p) * s;
        }
        return sum;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            ByteVector qs = Simd.bytes(src, p + 2);
            FloatVector s = Simd.toFloat(Simd.lookup(Simd.IQ4_TABLE, Simd.lo(qs))).mul(Simd.x(x, xi));
            s = Simd.toFloat(Simd.lookup(Simd.IQ4_TABLE, Simd.hi(qs))).fma(Simd.x(x, xi + 16), s);
            acc = s.fma(Simd.f(Bits.f16(src, p)), acc);
        }
        return Simd.sum(acc);
    }
}
