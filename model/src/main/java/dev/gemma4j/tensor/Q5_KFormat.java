package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_K: 176-byte super-blocks of 256: d:f16, dmin:f16, sc[12] (as Q4_K), qh[32], qs[128].
 * Sub-block k: y = d·S_k·(q4 + 16·bit(qh[l], k)) − dmin·M_k.
 */
final class Q5_KFormat implements TensorFormat {
    private static final int BLOCK = 176;
    private static final IntVector LOW4_I = IntVector.broadcast(Simd.VI, 0x0F);
    private static final IntVector BIT4_I = IntVector.broadcast(Simd.VI, 0x10);

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        if (Simd.VECTOR) {
            dequantizeGeneric(src, offset, dst, dstOffset, n);
            return;
        }
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

    /**
     * Same values as the scalar loop ((d·S)·q5 − dmin·M, multiply then subtract), at any width (prefill's tile
     * decoding), as {@link Q4_KFormat#dequantizeGeneric}: sub-block j takes the low (j even) or high nibbles of
     * chunk j/2, its 5th bit is bit j of qh (qh shifted left by 4, right by j, masked to 16).
     */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = src.get(Bits.INT_LE, p);
            long lo = src.get(Bits.LONG_LE, p + 4);
            int hi = src.get(Bits.INT_LE, p + 12);
            float d = Float.float16ToFloat((short) head);
            float dmin = Float.float16ToFloat((short) (head >>> 16));
            for (int j = 0; j < 8; j++) {
                // 6-bit scale and min of sub-block j (as Q4_K), unpacked in place
                int sh = 8 * (j & 3);
                int sc = j < 4 ? (int) (lo >>> sh) & 63 : (hi >>> sh) & 15 | ((int) (lo >>> sh) & 0xC0) >> 2;
                int mn = j < 4 ? (int) (lo >>> (sh + 32)) & 63 : (hi >>> (sh + 4)) & 15 | ((int) (lo >>> (sh + 32)) & 0xC0) >> 2;
                FloatVector vd = FloatVector.broadcast(Simd.V, d * sc);
                FloatVector vm = FloatVector.broadcast(Simd.V, dmin * mn);
                int o = dstOffset + 256 * b + 32 * j;
                for (int i = 0; i < 32; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 48 + 32 * (j >> 1) + i, Simd.LE);
                    ByteVector qh = ByteVector.fromMemorySegment(Simd.VB, src, p + 16 + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        IntVector top = ((IntVector) qh.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.LSHR, j).lanewise(VectorOperators.AND, BIT4_I);
                        IntVector qi = ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHR, 4 * (j & 1)).lanewise(VectorOperators.AND, LOW4_I)
                                .lanewise(VectorOperators.OR, top);
                        ((FloatVector) qi.convertShape(VectorOperators.I2F, Simd.V, 0)).mul(vd).sub(vm)
                                .intoArray(dst, o + i + part * Simd.VL);
                    }
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        Bits.checkRow(this, n);
        // at 512 bits too: the 512-bit kernel through Simd's shared helpers was left with boxed vectors once
        // other kernels had run (KernelAllocationTest on an AVX-512 machine); this one has its vector code in
        // its own body
        return Simd.VECTOR ? dotGeneric(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    /**
     * Any vector width, as {@link Q4_KFormat#dotGeneric}: per 32-byte chunk c (sub-blocks 2c and 2c+1),
     * {@link Simd#VL} nibble bytes and the VL qh bytes of the same elements widened to ints; the 5th bit of
     * the low nibble is bit 2c of qh, of the high nibble bit 2c+1 (qh shifted left by 4 once, then right by
     * 2c or 2c+1 and masked to 16). At 128 bits the bytes come as one int broadcast and widened from its own
     * vector, for the reason given at {@link Q5_0Format#dot128} (the branch is on a constant: C2 parses one
     * side). Σq·x and Σx per sub-block, then {@code d·S} and {@code dmin·M} by one multiply-add each.
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        FloatVector accMin = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = src.get(Bits.INT_LE, p);
            long lo = src.get(Bits.LONG_LE, p + 4);
            int hi = src.get(Bits.INT_LE, p + 12);
            float d = Float.float16ToFloat((short) head);
            float dmin = Float.float16ToFloat((short) (head >>> 16));
            for (int c = 0; c < 4; c++) {
                FloatVector sLo = FloatVector.zero(Simd.V);
                FloatVector sHi = FloatVector.zero(Simd.V);
                FloatVector xLo = FloatVector.zero(Simd.V);
                FloatVector xHi = FloatVector.zero(Simd.V);
                int xb = xOffset + 256 * b + 64 * c;
                for (int o = 0; o < 32; o += Simd.VL) {
                    long pq = p + 48 + 32 * c + o;
                    long ph = p + 16 + o;
                    IntVector qi = (IntVector) (Simd.VP == 2
                            ? IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, pq)).reinterpretAsBytes()
                            : ByteVector.fromMemorySegment(Simd.VB, src, pq, Simd.LE)).convertShape(VectorOperators.B2I, Simd.VI, 0);
                    IntVector h4 = ((IntVector) (Simd.VP == 2
                            ? IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, ph)).reinterpretAsBytes()
                            : ByteVector.fromMemorySegment(Simd.VB, src, ph, Simd.LE)).convertShape(VectorOperators.B2I, Simd.VI, 0))
                            .lanewise(VectorOperators.LSHL, 4);
                    FloatVector ql = (FloatVector) qi.lanewise(VectorOperators.AND, LOW4_I)
                            .lanewise(VectorOperators.OR, h4.lanewise(VectorOperators.LSHR, 2 * c).lanewise(VectorOperators.AND, BIT4_I))
                            .convertShape(VectorOperators.I2F, Simd.V, 0);
                    FloatVector qh = (FloatVector) qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                            .lanewise(VectorOperators.OR, h4.lanewise(VectorOperators.LSHR, 2 * c + 1).lanewise(VectorOperators.AND, BIT4_I))
                            .convertShape(VectorOperators.I2F, Simd.V, 0);
                    FloatVector xl = FloatVector.fromArray(Simd.V, x, xb + o);
                    FloatVector xh = FloatVector.fromArray(Simd.V, x, xb + o + 32);
                    sLo = ql.fma(xl, sLo);
                    sHi = qh.fma(xh, sHi);
                    xLo = xLo.add(xl);
                    xHi = xHi.add(xh);
                }
                // 6-bit scales and mins of sub-blocks 2c and 2c+1 (as Q4_K), unpacked in place: no calls here
                int s0;
                int m0;
                int s1;
                int m1;
                if (c < 2) {
                    int sh = 16 * c;
                    s0 = (int) (lo >>> sh) & 63;
                    s1 = (int) (lo >>> (sh + 8)) & 63;
                    m0 = (int) (lo >>> (sh + 32)) & 63;
                    m1 = (int) (lo >>> (sh + 40)) & 63;
                } else {
                    int sh = 16 * c - 32;
                    s0 = (hi >>> sh) & 15 | ((int) (lo >>> sh) & 0xC0) >> 2;
                    s1 = (hi >>> (sh + 8)) & 15 | ((int) (lo >>> (sh + 8)) & 0xC0) >> 2;
                    m0 = (hi >>> (sh + 4)) & 15 | ((int) (lo >>> (sh + 32)) & 0xC0) >> 2;
                    m1 = (hi >>> (sh + 12)) & 15 | ((int) (lo >>> (sh + 40)) & 0xC0) >> 2;
                }
                acc = sLo.fma(FloatVector.broadcast(Simd.V, d * s0), acc);
                acc = sHi.fma(FloatVector.broadcast(Simd.V, d * s1), acc);
                accMin = xLo.fma(FloatVector.broadcast(Simd.V, dmin * m0), accMin);
                accMin = xHi.fma(FloatVector.broadcast(Simd.V, dmin * m1), accMin);
            }
        }
        return Simd.sum(acc.sub(accMin));
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
}
