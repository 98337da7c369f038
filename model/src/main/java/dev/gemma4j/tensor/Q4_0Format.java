package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/** Q4_0: 18-byte blocks of 32: d:f16, qs[16]; y[j] = d·(lo(qs[j]) − 8), y[j+16] = d·(hi(qs[j]) − 8). */
final class Q4_0Format implements TensorFormat {
    private static final int BLOCK = 18;
    private static final IntVector LOW4_I = IntVector.broadcast(Simd.VI, 0x0F);
    private static final IntVector OFFSET8_I = IntVector.broadcast(Simd.VI, 8);

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
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
                dst[o + j] = ((q & 15) - 8) * d;
                dst[o + j + 16] = ((q >> 4) - 8) * d;
            }
        }
    }

    /** Same values as the scalar loop ({@code (q − 8)·d}), at any width: prefill's tile decoding. */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            FloatVector d = FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p)));
            int o = dstOffset + 32 * b;
            for (int i = 0; i < 16; i += Simd.VBL) {
                ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 2 + i, Simd.LE);
                for (int part = 0; part < Simd.VP; part++) {
                    int j = o + i + part * Simd.VL;
                    IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part);
                    ((FloatVector) qi.lanewise(VectorOperators.AND, LOW4_I).lanewise(VectorOperators.SUB, OFFSET8_I)
                            .convertShape(VectorOperators.I2F, Simd.V, 0)).mul(d).intoArray(dst, j);
                    ((FloatVector) qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                            .lanewise(VectorOperators.SUB, OFFSET8_I).convertShape(VectorOperators.I2F, Simd.V, 0)).mul(d).intoArray(dst, j + 16);
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

    /** Any width: the 16 nibble bytes {@link Simd#VBL} at a time, widened to ints once, both nibbles − 8. */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            FloatVector s0 = FloatVector.zero(Simd.V);
            FloatVector s1 = FloatVector.zero(Simd.V);
            for (int o = 0; o < 16; o += Simd.VBL) {
                ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 2 + o, Simd.LE);
                for (int part = 0; part < Simd.VP; part++) {
                    int j = o + part * Simd.VL;
                    IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part);
                    s0 = ((FloatVector) qi.lanewise(VectorOperators.AND, LOW4_I).lanewise(VectorOperators.SUB, OFFSET8_I)
                            .convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j), s0);
                    s1 = ((FloatVector) qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                            .lanewise(VectorOperators.SUB, OFFSET8_I).convertShape(VectorOperators.I2F, Simd.V, 0))
                            .fma(FloatVector.fromArray(Simd.V, x, xi + j + 16), s1);
                }
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
                s += ((q & 15) - 8) * x[xi + j] + ((q >> 4) - 8) * x[xi + j + 16];
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
            FloatVector s = Simd.toFloat(Simd.lo(qs).sub((byte) 8)).mul(Simd.x(x, xi));
            s = Simd.toFloat(Simd.hi(qs).sub((byte) 8)).fma(Simd.x(x, xi + 16), s);
            acc = s.fma(Simd.f(Bits.f16(src, p)), acc);
        }
        return Simd.sum(acc);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** quantize_row_q4_0_ref: d = (signed max-magnitude element)/−8, q = min(15, trunc(x/d + 8.5)). */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        Bits.checkRow(this, n);
        for (int b = 0; b < n / 32; b++) {
            int s = srcOffset + 32 * b;
            long p = offset + (long) b * BLOCK;
            float d = Bits.signedAbsMax(src, s, 32) / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bits.putF16(dst, p, d);
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(15, (int) (src[s + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (src[s + j + 16] * id + 8.5f));
                Bits.putU8(dst, p + 2 + j, q0 | q1 << 4);
            }
        }
    }
}
