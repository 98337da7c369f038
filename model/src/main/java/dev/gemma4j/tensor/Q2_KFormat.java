package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * Q2_K: 84-byte super-blocks of 256: sc[16] (4-bit scale | 4-bit min), qs[64] (2-bit), d:f16, dmin:f16.
 * Sub-block k (16 elements): y = d·(sc[k]&15)·q − dmin·(sc[k]>>4).
 */
final class Q2_KFormat implements TensorFormat {
    private static final int BLOCK = 84;

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p + 80);
            float dmin = Bits.f16(src, p + 82);
            int o = dstOffset + 256 * b;
            int idx = 0;
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    for (int part = 0; part < 2; part++) {
                        int sc = Bits.u8(src, p + idx);
                        float dl = d * (sc & 15);
                        float ml = dmin * (sc >> 4);
                        for (int l = 0; l < 16; l++) {
                            int q = (Bits.u8(src, p + 16 + 32 * h + 16 * part + l) >> 2 * j) & 3;
                            dst[o + 128 * h + 32 * j + 16 * part + l] = dl * q - ml;
                        }
                        idx++;
                    }
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
            float d = Bits.f16(src, p + 80);
            float dmin = Bits.f16(src, p + 82);
            int xb = xOffset + 256 * b;
            int idx = 0;
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    for (int part = 0; part < 2; part++) {
                        int sc = Bits.u8(src, p + idx++);
                        float s = 0;
                        float sx = 0;
                        for (int l = 0; l < 16; l++) {
                            int q = (Bits.u8(src, p + 16 + 32 * h + 16 * part + l) >> 2 * j) & 3;
                            float v = x[xb + 128 * h + 32 * j + 16 * part + l];
                            s += q * v;
                            sx += v;
                        }
                        sum += d * (sc & 15) * s - dmin * (sc >> 4) * sx;
                    }
                }
            }
        }
        return sum;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        FloatVector accMin = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int dd = Bits.i32(src, p + 80);
            float d = Bits.halfOf(dd, 0);
            float dmin = Bits.halfOf(dd, 1);
            long sc0 = Bits.i64(src, p);
            long sc1 = Bits.i64(src, p + 8);
            // 8 groups of 32 outputs (two sub-blocks each): half h, shift j
            for (int i = 0; i < 8; i++) {
                int h = i >> 2;
                int j = i & 3;
                long scales = h == 0 ? sc0 : sc1;
                int s0 = Bits.byteOf(scales, 2 * j);
                int s1 = Bits.byteOf(scales, 2 * j + 1);
                ByteVector q = Simd.bits(Simd.bytes32(src, p + 16 + 32 * h), 2 * j, 2);
                int xi = xOffset + 256 * b + 32 * i;
                FloatVector x0 = Simd.x(x, xi);
                FloatVector x1 = Simd.x(x, xi + 16);
                acc = Simd.toFloat(q, 0).mul(x0).fma(Simd.f(d * (s0 & 15)), acc);
                acc = Simd.toFloat(q, 1).mul(x1).fma(Simd.f(d * (s1 & 15)), acc);
                accMin = x0.fma(Simd.f(dmin * (s0 >> 4)), accMin);
                accMin = x1.fma(Simd.f(dmin * (s1 >> 4)), accMin);
            }
        }
        return Simd.sum(acc.sub(accMin));
    }
}
