package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/** Q5_1: 24-byte blocks of 32: d:f16, m:f16, qh:u32, qs[16]; y = d·q5 + m. */
final class Q5_1Format implements TensorFormat {
    private static final int BLOCK = 24;
    private static final IntVector LOW4_I = IntVector.broadcast(Simd.VI, 0x0F);
    private static final IntVector BIT4_I = IntVector.broadcast(Simd.VI, 0x10);
    /** Lane i holds i: the shift that brings bit i of a broadcast word to bit 0 of lane i. */
    private static final IntVector IOTA_I = IntVector.zero(Simd.VI).addIndex(1);

    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
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
            float m = Bits.f16(src, p + 2);
            int qh = Bits.i32(src, p + 4);
            int o = dstOffset + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bits.u8(src, p + 8 + j);
                dst[o + j] = ((q & 15) | ((qh >>> j) & 1) << 4) * d + m;
                dst[o + j + 16] = ((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) * d + m;
            }
        }
    }

    /** Same values as the scalar loop ({@code q5·d + m}, two roundings), at any width: prefill's tile decoding. */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            FloatVector d = FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p)));
            FloatVector m = FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 2)));
            int qh = src.get(Bits.INT_LE, p + 4);
            int o = dstOffset + 32 * b;
            for (int half = 0; half < 2; half++) {
                for (int i = 0; i < 16; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 8 + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        int j = i + part * Simd.VL;
                        IntVector top = IntVector.broadcast(Simd.VI, qh >>> (j + 16 * half)).lanewise(VectorOperators.LSHR, IOTA_I)
                                .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                        IntVector v = ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHR, 4 * half).lanewise(VectorOperators.AND, LOW4_I).lanewise(VectorOperators.OR, top);
                        ((FloatVector) v.convertShape(VectorOperators.I2F, Simd.V, 0)).mul(d).add(m).intoArray(dst, o + 16 * half + j);
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
     * 128 and 256 bits, as {@link Q5_0Format#dotGeneric}: {@link Simd#VL} nibble bytes at a time widened to
     * ints, each lane's 5th bit from the broadcast qh word shifted by the lane index; Σq5·x and Σx per block,
     * then d and m by one multiply-add each. At 128 bits the 4 bytes come as one int broadcast and widened
     * from its own vector (see {@link Q5_0Format#dot128}; the branch is on a constant: C2 parses one side).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            int qh = src.get(Bits.INT_LE, p + 4);
            FloatVector s = FloatVector.zero(Simd.V);
            FloatVector sx = FloatVector.zero(Simd.V);
            for (int j = 0; j < 16; j += Simd.VL) {
                IntVector qi = (IntVector) (Simd.VP == 2
                        ? IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, p + 8 + j)).reinterpretAsBytes()
                        : ByteVector.fromMemorySegment(Simd.VB, src, p + 8 + j, Simd.LE)).convertShape(VectorOperators.B2I, Simd.VI, 0);
                IntVector hLo = IntVector.broadcast(Simd.VI, qh >>> j).lanewise(VectorOperators.LSHR, IOTA_I)
                        .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                IntVector hHi = IntVector.broadcast(Simd.VI, qh >>> (j + 16)).lanewise(VectorOperators.LSHR, IOTA_I)
                        .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                FloatVector x0 = FloatVector.fromArray(Simd.V, x, xi + j);
                FloatVector x1 = FloatVector.fromArray(Simd.V, x, xi + j + 16);
                s = ((FloatVector) qi.lanewise(VectorOperators.AND, LOW4_I).lanewise(VectorOperators.OR, hLo)
                        .convertShape(VectorOperators.I2F, Simd.V, 0)).fma(x0, s);
                s = ((FloatVector) qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                        .lanewise(VectorOperators.OR, hHi).convertShape(VectorOperators.I2F, Simd.V, 0)).fma(x1, s);
                sx = sx.add(x0).add(x1);
            }
            int dm = src.get(Bits.INT_LE, p);
            acc = s.fma(FloatVector.broadcast(Simd.V, Float.float16ToFloat((short) dm)), acc);
            acc = sx.fma(FloatVector.broadcast(Simd.V, Float.float16ToFloat((short) (dm >>> 16))), acc);
        }
        return Simd.sum(acc);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int qh = Bits.i32(src, p + 4);
            int xi = xOffset + 32 * b;
            float s = 0;
            float sx = 0;
            for (int j = 0; j < 16; j++) {
                int q = Bits.u8(src, p + 8 + j);
                s += ((q & 15) | ((qh >>> j) & 1) << 4) * x[xi + j]
                        + ((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) * x[xi + j + 16];
                sx += x[xi + j] + x[xi + j + 16];
            }
            sum += Bits.f16(src, p) * s + Bits.f16(src, p + 2) * sx;
        }
        return sum;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            int qh = Bits.i32(src, p + 4);
            ByteVector qs = Simd.bytes(src, p + 8);
            ByteVector lo = Simd.lo(qs).lanewise(VectorOperators.ADD, (byte) 16, Simd.laneBits(qh));
            ByteVector hi = Simd.hi(qs).lanewise(VectorOperators.ADD, (byte) 16, Simd.laneBits(qh >>> 16));
            FloatVector x0 = Simd.x(x, xi);
            FloatVector x1 = Simd.x(x, xi + 16);
            FloatVector s = Simd.toFloat(lo).mul(x0);
            s = Simd.toFloat(hi).fma(x1, s);
            acc = s.fma(Simd.f(Bits.f16(src, p)), acc);
            acc = x0.add(x1).fma(Simd.f(Bits.f16(src, p + 2)), acc);
        }
        return Simd.sum(acc);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** quantize_row_q5_1_ref: d = (max − min)/31, m = min, q = trunc((x − min)/d + 0.5). */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        Bits.checkRow(this, n);
        for (int b = 0; b < n / 32; b++) {
            int s = srcOffset + 32 * b;
            long p = offset + (long) b * BLOCK;
            float min = Bits.min(src, s, 32);
            float d = (Bits.max(src, s, 32) - min) / 31;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bits.putF16(dst, p, d);
            Bits.putF16(dst, p + 2, min);
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                int q0 = ((int) ((src[s + j] - min) * id + 0.5f)) & 0xFF;
                int q1 = ((int) ((src[s + j + 16] - min) * id + 0.5f)) & 0xFF;
                Bits.putU8(dst, p + 8 + j, (q0 & 15) | (q1 & 15) << 4);
                qh |= ((q0 >> 4) & 1) << j;
                qh |= ((q1 >> 4) & 1) << (j + 16);
            }
            dst.set(Bits.INT_LE, p + 4, qh);
        }
    }
}
