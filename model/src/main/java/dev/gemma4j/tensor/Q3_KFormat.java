package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q3_K: 110-byte super-blocks of 256: hmask[32], qs[64] (2-bit), sc[12] (sixteen 6-bit scales), d:f16.
 * Sub-block k (16 elements): y = d·(S_k − 32)·(q2 − (hmask bit ? 0 : 4)).
 */
final class Q3_KFormat implements TensorFormat {
    private static final int BLOCK = 110;
    private static final IntVector LOW2_I = IntVector.broadcast(Simd.VI, 3);
    private static final IntVector BIT2_I = IntVector.broadcast(Simd.VI, 4);

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    /** Signed scale (−32..31) of sub-block k from the 12 packed bytes at {@code sc}. */
    static int scale(MemorySegment s, long sc, int k) {
        int lo = k < 8 ? Bits.u8(s, sc + k) & 15 : Bits.u8(s, sc + k - 8) >> 4;
        int hi = (Bits.u8(s, sc + 8 + (k % 4)) >> (2 * (k / 4))) & 3;
        return (lo | hi << 4) - 32;
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
            float d = Bits.f16(src, p + 108);
            int o = dstOffset + 256 * b;
            int idx = 0;
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    int m = 1 << (4 * h + j);
                    for (int part = 0; part < 2; part++) {
                        float dl = d * scale(src, p + 96, idx++);
                        for (int l = 0; l < 16; l++) {
                            int t = l + 16 * part;
                            int v = ((Bits.u8(src, p + 32 + 32 * h + t) >> 2 * j) & 3)
                                    - ((Bits.u8(src, p + t) & m) != 0 ? 0 : 4);
                            dst[o + 128 * h + 32 * j + 16 * part + l] = dl * v;
                        }
                    }
                }
            }
        }
    }

    /**
     * Same values as the scalar loop ((d·(S_k − 32))·v), at any width (prefill's tile decoding): per sub-block k
     * of 16, qs and hmask bytes widened to ints and v = (q2 | hmask bit 4h+j moved to bit 2) − 4, as
     * {@link #dotGeneric}; the 6-bit scale unpacked in place from the scale words.
     */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 108));
            long lo = src.get(Bits.LONG_LE, p + 96);
            int hi = src.get(Bits.INT_LE, p + 104);
            for (int k = 0; k < 16; k++) {
                int h = k >> 3;
                int j = (k >> 1) & 3;
                int t = 16 * (k & 1);
                int low = (int) (lo >>> 8 * (k & 7) + 4 * (k >> 3)) & 15;
                int high = (hi >>> 8 * (k & 3) + 2 * (k >> 2)) & 3;
                FloatVector vd = FloatVector.broadcast(Simd.V, d * ((low | high << 4) - 32));
                int o = dstOffset + 256 * b + 16 * k;
                for (int i = 0; i < 16; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 32 + 32 * h + t + i, Simd.LE);
                    ByteVector m = ByteVector.fromMemorySegment(Simd.VB, src, p + t + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part);
                        IntVector mi = (IntVector) m.convertShape(VectorOperators.B2I, Simd.VI, part);
                        IntVector v = qi.lanewise(VectorOperators.LSHR, 2 * j).lanewise(VectorOperators.AND, LOW2_I)
                                .lanewise(VectorOperators.OR, mi.lanewise(VectorOperators.LSHL, 2).lanewise(VectorOperators.LSHR, 4 * h + j)
                                        .lanewise(VectorOperators.AND, BIT2_I))
                                .lanewise(VectorOperators.SUB, BIT2_I);
                        ((FloatVector) v.convertShape(VectorOperators.I2F, Simd.V, 0)).mul(vd).intoArray(dst, o + i + part * Simd.VL);
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
     * 128 and 256 bits: per sub-block k of 16 (half h = k/8, shift j = (k/2)%4, part = k%2), {@link Simd#VL}
     * bytes of qs and of hmask at a time widened to ints; q2 = (qs &gt;&gt; 2j) &amp; 3, the hmask bit 4h+j
     * moved to bit 2, v = (q2 | that) − 4; Σv·x per sub-block, then d·(S_k − 32) by one multiply-add, the
     * 6-bit scale unpacked in place from the scale words (no calls after the first vector op). At 128 bits
     * the bytes come as one int broadcast and widened from its own vector (see {@link Q5_0Format#dot128};
     * the branch is on a constant: C2 parses one side).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 108));
            long lo = src.get(Bits.LONG_LE, p + 96);
            int hi = src.get(Bits.INT_LE, p + 104);
            for (int k = 0; k < 16; k++) {
                int h = k >> 3;
                int j = (k >> 1) & 3;
                int t = 16 * (k & 1);
                int low = (int) (lo >>> 8 * (k & 7) + 4 * (k >> 3)) & 15;
                int high = (hi >>> 8 * (k & 3) + 2 * (k >> 2)) & 3;
                FloatVector s = FloatVector.zero(Simd.V);
                int xi = xOffset + 256 * b + 16 * k;
                for (int o = 0; o < 16; o += Simd.VL) {
                    long pq = p + 32 + 32 * h + t + o;
                    long pm = p + t + o;
                    IntVector qi = (IntVector) (Simd.VP == 2
                            ? IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, pq)).reinterpretAsBytes()
                            : ByteVector.fromMemorySegment(Simd.VB, src, pq, Simd.LE)).convertShape(VectorOperators.B2I, Simd.VI, 0);
                    IntVector mi = (IntVector) (Simd.VP == 2
                            ? IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, pm)).reinterpretAsBytes()
                            : ByteVector.fromMemorySegment(Simd.VB, src, pm, Simd.LE)).convertShape(VectorOperators.B2I, Simd.VI, 0);
                    IntVector v = qi.lanewise(VectorOperators.LSHR, 2 * j).lanewise(VectorOperators.AND, LOW2_I)
                            .lanewise(VectorOperators.OR, mi.lanewise(VectorOperators.LSHL, 2).lanewise(VectorOperators.LSHR, 4 * h + j)
                                    .lanewise(VectorOperators.AND, BIT2_I))
                            .lanewise(VectorOperators.SUB, BIT2_I);
                    s = ((FloatVector) v.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + o), s);
                }
                acc = s.fma(FloatVector.broadcast(Simd.V, d * ((low | high << 4) - 32)), acc);
            }
        }
        return Simd.sum(acc);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p + 108);
            int xb = xOffset + 256 * b;
            int idx = 0;
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    int m = 1 << (4 * h + j);
                    for (int part = 0; part < 2; part++) {
                        float s = 0;
                        for (int l = 0; l < 16; l++) {
                            int t = l + 16 * part;
                            int v = ((Bits.u8(src, p + 32 + 32 * h + t) >> 2 * j) & 3)
                                    - ((Bits.u8(src, p + t) & m) != 0 ? 0 : 4);
                            s += v * x[xb + 128 * h + 32 * j + 16 * part + l];
                        }
                        sum += d * scale(src, p + 96, idx++) * s;
                    }
                }
            }
        }
        return sum;
    }

    /** Signed scale of sub-block k from the 12 packed bytes as words: bytes 0..7 ({@code lo}), 8..11 ({@code hi}). */
    static int scale(long lo, int hi, int k) {
        int low = k < 8 ? Bits.byteOf(lo, k) & 15 : Bits.byteOf(lo, k - 8) >> 4;
        int high = (Bits.byteOf(hi, k & 3) >> (2 * (k >> 2))) & 3;
        return (low | high << 4) - 32;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p + 108);
            long lo = Bits.i64(src, p + 96);
            int hi = Bits.i32(src, p + 104);
            ByteVector hm = ByteVector.fromMemorySegment(Simd.B2, src, p, Simd.LE);
            // 8 groups of 32 outputs (two sub-blocks each): half h, shift j. The Vector API calls are written out
            // here, not through Simd's helpers (Simd.bits, addWhereBit, toFloat): once other kernels had run, those
            // calls passed C2's inlining budget and every vector between them was boxed (28.9 KB per call,
            // KernelAllocationTest after DeterminismTest). Same operations, same order.
            for (int i = 0; i < 8; i++) {
                int h = i >> 2;
                int j = i & 3;
                ByteVector q = ByteVector.fromMemorySegment(Simd.B2, src, p + 32 + 32 * h, Simd.LE);
                ByteVector q2 = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * j).reinterpretAsBytes().and((byte) 3);
                ByteVector v = q2.sub((byte) 4).lanewise(VectorOperators.ADD, (byte) 4,
                        hm.and((byte) (1 << (4 * h + j))).compare(VectorOperators.NE, 0));
                int xi = xOffset + 256 * b + 32 * i;
                acc = ((FloatVector) v.convertShape(VectorOperators.B2F, Simd.F, 0)).mul(FloatVector.fromArray(Simd.F, x, xi))
                        .fma(FloatVector.broadcast(Simd.F, d * scale(lo, hi, 2 * i)), acc);
                acc = ((FloatVector) v.convertShape(VectorOperators.B2F, Simd.F, 1)).mul(FloatVector.fromArray(Simd.F, x, xi + 16))
                        .fma(FloatVector.broadcast(Simd.F, d * scale(lo, hi, 2 * i + 1)), acc);
            }
        }
        // Simd.sum's additions written out: a call of it here, past C2's inlining budget once other kernels have
        // run, boxed the vector (KernelAllocationTest); the Vector API's own methods are inlined regardless
        FloatVector s = acc;
        s = s.add(s.rearrange(Simd.SWAP8));
        s = s.add(s.rearrange(Simd.SWAP4));
        s = s.add(s.rearrange(Simd.SWAP2));
        return s.add(s.rearrange(Simd.SWAP1)).lane(0);
    }
}
