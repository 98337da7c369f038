package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * IQ4_XS: 136-byte super-blocks of 256: d:f16, sh:u16, sl[4], qs[128]; sub-block b (32 elements) has the
 * 6-bit scale ls_b and y = d·(ls_b − 32)·K[nibble] with the IQ4_NL codebook.
 */
final class IQ4_XSFormat implements TensorFormat {
    private static final int BLOCK = 136;

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_XS;
    }

    static int scale(MemorySegment s, long p, int b) {
        int sh = Bits.u16(s, p + 2);
        return ((Bits.u8(s, p + 4 + b / 2) >> 4 * (b % 2)) & 15) | ((sh >> 2 * b) & 3) << 4;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        if (Simd.VECTOR) {
            dequantizeGeneric(src, offset, dst, dstOffset, n);
            return;
        }
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            float d = Bits.f16(src, p);
            for (int b = 0; b < 8; b++) {
                float dl = d * (scale(src, p, b) - 32);
                int o = dstOffset + 256 * blk + 32 * b;
                for (int j = 0; j < 16; j++) {
                    int q = Bits.u8(src, p + 8 + 16 * b + j);
                    dst[o + j] = dl * Bits.IQ4_VALUES[q & 15];
                    dst[o + j + 16] = dl * Bits.IQ4_VALUES[q >> 4];
                }
            }
        }
    }

    /**
     * Same values as the scalar loop ((d·(ls − 32))·K[nibble]), at any width (prefill's tile decoding): the lookup
     * of {@link #dotGeneric} ({@link Simd#VL} values at a time from the bottom of the looked-up vectors), each
     * multiplied by the sub-block scale and stored.
     */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            long head = src.get(Bits.LONG_LE, p); // d, sh, sl[4]
            float d = Float.float16ToFloat((short) head);
            int sh = (int) (head >>> 16) & 0xFFFF;
            int sl = (int) (head >>> 32);
            for (int b = 0; b < 8; b++) {
                int ls = ((sl >>> 4 * b) & 15) | ((sh >> 2 * b) & 3) << 4;
                FloatVector vd = FloatVector.broadcast(Simd.V, d * (ls - 32));
                int o = dstOffset + 256 * blk + 32 * b;
                ByteVector q = ByteVector.fromMemorySegment(Simd.B, src, p + 8 + 16 * b, Simd.LE);
                ByteVector lo = q.selectFrom(Simd.IQ4_TABLE);
                ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().selectFrom(Simd.IQ4_TABLE);
                for (int j = 0; j < 16; j += Simd.VL) {
                    ((FloatVector) ((IntVector) lo.convertShape(VectorOperators.B2I, Simd.VI, 0)).convertShape(VectorOperators.I2F, Simd.V, 0))
                            .mul(vd).intoArray(dst, o + j);
                    ((FloatVector) ((IntVector) hi.convertShape(VectorOperators.B2I, Simd.VI, 0)).convertShape(VectorOperators.I2F, Simd.V, 0))
                            .mul(vd).intoArray(dst, o + j + 16);
                    lo = lo.rearrange(Simd.NEXT_VL);
                    hi = hi.rearrange(Simd.NEXT_VL);
                }
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
     * 128 and 256 bits, as {@link IQ4_NLFormat#dotGeneric} per 32-element sub-block, with the sub-block's
     * scale d·(ls − 32) unpacked in place from the header word (no calls after the first vector op).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            long head = src.get(Bits.LONG_LE, p); // d, sh, sl[4]
            float d = Float.float16ToFloat((short) head);
            int sh = (int) (head >>> 16) & 0xFFFF;
            int sl = (int) (head >>> 32);
            for (int b = 0; b < 8; b++) {
                int xi = xOffset + 256 * blk + 32 * b;
                FloatVector s0 = FloatVector.zero(Simd.V);
                FloatVector s1 = FloatVector.zero(Simd.V);
                ByteVector q = ByteVector.fromMemorySegment(Simd.B, src, p + 8 + 16 * b, Simd.LE);
                ByteVector lo = q.selectFrom(Simd.IQ4_TABLE);
                ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().selectFrom(Simd.IQ4_TABLE);
                for (int j = 0; j < 16; j += Simd.VL) {
                    IntVector l = (IntVector) lo.convertShape(VectorOperators.B2I, Simd.VI, 0);
                    IntVector h = (IntVector) hi.convertShape(VectorOperators.B2I, Simd.VI, 0);
                    s0 = ((FloatVector) l.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j), s0);
                    s1 = ((FloatVector) h.convertShape(VectorOperators.I2F, Simd.V, 0))
                            .fma(FloatVector.fromArray(Simd.V, x, xi + j + 16), s1);
                    lo = lo.rearrange(Simd.NEXT_VL);
                    hi = hi.rearrange(Simd.NEXT_VL);
                }
                int ls = ((sl >>> 4 * b) & 15) | ((sh >> 2 * b) & 3) << 4;
                acc = s0.add(s1).fma(FloatVector.broadcast(Simd.V, d * (ls - 32)), acc);
            }
        }
        return Simd.sum(acc);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            float d = Bits.f16(src, p);
            for (int b = 0; b < 8; b++) {
                int xi = xOffset + 256 * blk + 32 * b;
                float s = 0;
                for (int j = 0; j < 16; j++) {
                    int q = Bits.u8(src, p + 8 + 16 * b + j);
                    s += Bits.IQ4_VALUES[q & 15] * x[xi + j] + Bits.IQ4_VALUES[q >> 4] * x[xi + j + 16];
                }
                sum += d * (scale(src, p, b) - 32) * s;
            }
        }
        return sum;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            long head = Bits.i64(src, p); // d, sh, sl[4]
            float d = Bits.halfOf(head, 0);
            int sh = (int) (head >>> 16) & 0xFFFF;
            int sl = (int) (head >>> 32);
            for (int b = 0; b < 8; b++) {
                int ls = ((sl >>> 4 * b) & 15) | ((sh >> 2 * b) & 3) << 4;
                int xi = xOffset + 256 * blk + 32 * b;
                ByteVector qs = Simd.bytes(src, p + 8 + 16 * b);
                FloatVector s = Simd.toFloat(Simd.lookup(Simd.IQ4_TABLE, Simd.lo(qs))).mul(Simd.x(x, xi));
                s = Simd.toFloat(Simd.lookup(Simd.IQ4_TABLE, Simd.hi(qs))).fma(Simd.x(x, xi + 16), s);
                acc = s.fma(Simd.f(d * (ls - 32)), acc);
            }
        }
        return Simd.sum(acc);
    }
}
