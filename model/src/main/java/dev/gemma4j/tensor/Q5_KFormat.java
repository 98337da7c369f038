package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

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
            int head = Bits.i32(src, p);
            long lo = Bits.i64(src, p + 4);
            int hi = Bits.i32(src, p + 12);
            float d = Bits.halfOf(head, 0);
            float dmin = Bits.halfOf(head, 1);
            ByteVector qh = Simd.bytes32(src, p + 16);
            for (int j = 0; j < 8; j++) {
                ByteVector q4 = Simd.bits(Simd.bytes32(src, p + 48 + 32 * (j >> 1)), 4 * (j & 1), 4);
                ByteVector q = Simd.addWhereBit(q4, qh, j, 16);
                int xi = xOffset + 256 * b + 32 * j;
                FloatVector x0 = Simd.x(x, xi);
                FloatVector x1 = Simd.x(x, xi + 16);
                FloatVector s = Simd.toFloat(q, 1).fma(x1, Simd.toFloat(q, 0).mul(x0));
                acc = s.fma(Simd.f(d * Q4_KFormat.scale(lo, hi, j)), acc);
                accMin = x0.add(x1).fma(Simd.f(dmin * Q4_KFormat.min(lo, hi, j)), accMin);
            }
        }
        return Simd.sum(acc.sub(accMin));
    }
}
