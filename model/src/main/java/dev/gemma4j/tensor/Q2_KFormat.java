package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q2_K: 84-byte super-blocks of 256: sc[16] (4-bit scale | 4-bit min), qs[64] (2-bit), d:f16, dmin:f16.
 * Sub-block k (16 elements): y = d·(sc[k]&15)·q − dmin·(sc[k]>>4).
 */
final class Q2_KFormat implements TensorFormat {
    private static final int BLOCK = 84;
    private static final IntVector LOW2_I = IntVector.broadcast(Simd.VI, 3);

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
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

    /**
     * Same values as the scalar loop ((d·(sc&amp;15))·q − dmin·(sc&gt;&gt;4), multiply then subtract), at any width
     * (prefill's tile decoding): per sub-block k of 16 (half h = k/8, shift j = (k/2)%4, part = k%2), the qs bytes
     * widened to ints, shifted by 2j and masked to 2 bits; the scale byte taken from the two scale words in place.
     */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int dd = src.get(Bits.INT_LE, p + 80);
            float d = Float.float16ToFloat((short) dd);
            float dmin = Float.float16ToFloat((short) (dd >>> 16));
            long sc0 = src.get(Bits.LONG_LE, p);
            long sc1 = src.get(Bits.LONG_LE, p + 8);
            for (int k = 0; k < 16; k++) {
                int h = k >> 3;
                int j = (k >> 1) & 3;
                int sc = (int) ((h == 0 ? sc0 : sc1) >>> 8 * (k & 7)) & 0xFF;
                FloatVector vd = FloatVector.broadcast(Simd.V, d * (sc & 15));
                FloatVector vm = FloatVector.broadcast(Simd.V, dmin * (sc >> 4));
                long pq = p + 16 + 32 * h + 16 * (k & 1);
                int o = dstOffset + 256 * b + 16 * k;
                for (int i = 0; i < 16; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, pq + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        IntVector qi = ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHR, 2 * j).lanewise(VectorOperators.AND, LOW2_I);
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
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n)
                : Simd.VECTOR ? dotGeneric(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    /**
     * 128 and 256 bits: per sub-block of 16 (group i = half h, shift j; part), {@link Simd#VL} bytes of qs at
     * a time widened to ints, shifted by 2j and masked to 2 bits, converted to floats; Σq·x and Σx per
     * sub-block, then d·(sc&amp;15) and dmin·(sc&gt;&gt;4) by one multiply-add each, the scale byte taken from
     * the block's two scale words in place. At 128 bits the bytes come as one int broadcast and widened from
     * its own vector (see {@link Q5_0Format#dot128}; the branch is on a constant: C2 parses one side).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        FloatVector accMin = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int dd = src.get(Bits.INT_LE, p + 80);
            float d = Float.float16ToFloat((short) dd);
            float dmin = Float.float16ToFloat((short) (dd >>> 16));
            long sc0 = src.get(Bits.LONG_LE, p);
            long sc1 = src.get(Bits.LONG_LE, p + 8);
            for (int k = 0; k < 16; k++) {
                // sub-block k: half h = k / 8, shift j = (k / 2) % 4, part = k % 2; bytes 32h + 16·part ..
                int h = k >> 3;
                int j = (k >> 1) & 3;
                int sc = (int) ((h == 0 ? sc0 : sc1) >>> 8 * (k & 7)) & 0xFF;
                FloatVector s = FloatVector.zero(Simd.V);
                FloatVector sx = FloatVector.zero(Simd.V);
                int xi = xOffset + 256 * b + 16 * k;
                long pq = p + 16 + 32 * h + 16 * (k & 1);
                for (int o = 0; o < 16; o += Simd.VL) {
                    IntVector qi = (IntVector) (Simd.VP == 2
                            ? IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, pq + o)).reinterpretAsBytes()
                            : ByteVector.fromMemorySegment(Simd.VB, src, pq + o, Simd.LE)).convertShape(VectorOperators.B2I, Simd.VI, 0);
                    FloatVector xv = FloatVector.fromArray(Simd.V, x, xi + o);
                    s = ((FloatVector) qi.lanewise(VectorOperators.LSHR, 2 * j).lanewise(VectorOperators.AND, LOW2_I)
                            .convertShape(VectorOperators.I2F, Simd.V, 0)).fma(xv, s);
                    sx = sx.add(xv);
                }
                acc = s.fma(FloatVector.broadcast(Simd.V, d * (sc & 15)), acc);
                accMin = sx.fma(FloatVector.broadcast(Simd.V, dmin * (sc >> 4)), accMin);
            }
        }
        return Simd.sum(acc.sub(accMin));
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
        // Simd.sum's additions written out: a call of it here, past C2's inlining budget once other kernels have
        // run, boxed the vector (KernelAllocationTest); the Vector API's own methods are inlined regardless
        FloatVector s = acc.sub(accMin);
        s = s.add(s.rearrange(Simd.SWAP8));
        s = s.add(s.rearrange(Simd.SWAP4));
        s = s.add(s.rearrange(Simd.SWAP2));
        return s.add(s.rearrange(Simd.SWAP1)).lane(0);
    }
}
