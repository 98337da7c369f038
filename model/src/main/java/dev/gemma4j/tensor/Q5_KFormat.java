package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_K: 176-byte super-blocks of 256: d:f16, dmin:f16, sc[12] (as Q4_K), qh[32], qs[128].
 * Sub-block k: y = d·S_k·(q4 + 16·bit(qh[l], k)) − dmin·M_k.
 */
final class Q5_KFormat implements TensorFormat {
    private static final int BLOCK = 176;

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p);
            float dmin = Bits.f16(src, p + 2);
            int o = dstOffset + 256 * b;
            for (int c = 0; c < 4; c++) {
                float d1 = d * Q4_KFormat.scale(src, p + 4, 2 * c);
                float m1 = dmin * Q4_KFormat.min(src, p + 4, 2 * c);
                float d2 = d * Q4_KFormat.scale(src, p + 4, 2 * c + 1);
                float m2 = dmin * Q4_KFormat.min(src, p + 4, 2 * c + 1);
                for (int l = 0; l < 32; l++) {
                    int q = Bits.u8(src, p + 48 + 32 * c + l);
                    int h = Bits.u8(src, p + 16 + l);
                    dst[o + 64 * c + l] = d1 * ((q & 15) + ((h >> 2 * c) & 1) * 16) - m1;
                    dst[o + 64 * c + 32 + l] = d2 * ((q >> 4) + ((h >> (2 * c + 1)) & 1) * 16) - m2;
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        Bits.checkRow(this, n);
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p);
            float dmin = Bits.f16(src, p + 2);
            int xb = xOffset + 256 * b;
            for (int c = 0; c < 4; c++) {
                float sLo = 0;
                float sHi = 0;
                float xLo = 0;
                float xHi = 0;
                for (int l = 0; l < 32; l++) {
                    int q = Bits.u8(src, p + 48 + 32 * c + l);
                    int h = Bits.u8(src, p + 16 + l);
                    float a = x[xb + 64 * c + l];
                    float e = x[xb + 64 * c + 32 + l];
                    sLo += ((q & 15) + ((h >> 2 * c) & 1) * 16) * a;
                    sHi += ((q >> 4) + ((h >> (2 * c + 1)) & 1) * 16) * e;
                    xLo += a;
                    xHi += e;
                }
                sum += d * (Q4_KFormat.scale(src, p + 4, 2 * c) * sLo + Q4_KFormat.scale(src, p + 4, 2 * c + 1) * sHi)
                        - dmin * (Q4_KFormat.min(src, p + 4, 2 * c) * xLo + Q4_KFormat.min(src, p + 4, 2 * c + 1) * xHi);
            }
        }
        return sum;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        FloatVector accMin = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p);
            float dmin = Bits.f16(src, p + 2);
            int xb = xOffset + 256 * b;
            ByteVector h0 = Simd.bytes(src, p + 16);
            ByteVector h1 = Simd.bytes(src, p + 32);
            for (int c = 0; c < 4; c++) {
                long q = p + 48 + 32 * c;
                int xi = xb + 64 * c;
                ByteVector q0 = Simd.bytes(src, q);
                ByteVector q1 = Simd.bytes(src, q + 16);
                int sLoBit = 2 * c;
                int sHiBit = 2 * c + 1;
                ByteVector lo0 = Simd.lo(q0).or(h0.lanewise(VectorOperators.LSHR, sLoBit).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                ByteVector lo1 = Simd.lo(q1).or(h1.lanewise(VectorOperators.LSHR, sLoBit).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                ByteVector hi0 = Simd.hi(q0).or(h0.lanewise(VectorOperators.LSHR, sHiBit).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                ByteVector hi1 = Simd.hi(q1).or(h1.lanewise(VectorOperators.LSHR, sHiBit).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                FloatVector a0 = Simd.x(x, xi);
                FloatVector a1 = Simd.x(x, xi + 16);
                FloatVector e0 = Simd.x(x, xi + 32);
                FloatVector e1 = Simd.x(x, xi + 48);
                FloatVector sLo = Simd.toFloat(lo1).fma(a1, Simd.toFloat(lo0).mul(a0));
                FloatVector sHi = Simd.toFloat(hi1).fma(e1, Simd.toFloat(hi0).mul(e0));
                acc = sLo.fma(Simd.f(d * Q4_KFormat.scale(src, p + 4, 2 * c)), acc);
                acc = sHi.fma(Simd.f(d * Q4_KFormat.scale(src, p + 4, 2 * c + 1)), acc);
                accMin = a0.add(a1).fma(Simd.f(dmin * Q4_KFormat.min(src, p + 4, 2 * c)), accMin);
                accMin = e0.add(e1).fma(Simd.f(dmin * Q4_KFormat.min(src, p + 4, 2 * c + 1)), accMin);
            }
        }
        return Simd.sum(acc.sub(accMin));
    }
}
