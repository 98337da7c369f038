package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_0: 22-byte blocks of 32: d:f16, qh:u32, qs[16]; the 5th bit of element j is bit j of qh;
 * y = d·(q5 − 16).
 */
final class Q5_0Format implements TensorFormat {
    private static final int BLOCK = 22;
    private static final IntVector LOW4_I = IntVector.broadcast(Simd.VI, 0x0F);
    private static final IntVector BIT4_I = IntVector.broadcast(Simd.VI, 0x10);
    private static final IntVector OFFSET16_I = IntVector.broadcast(Simd.VI, 16);
    /** Lane i holds i: the shift that brings bit i of a broadcast word to bit 0 of lane i. */
    private static final IntVector IOTA_I = IntVector.zero(Simd.VI).addIndex(1);

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        if (Simd.ENABLED) {
            dequantizeVector(src, offset, dst, dstOffset, n);
            return;
        }
        if (Simd.VECTOR) {
            dequantizeGeneric(src, offset, dst, dstOffset, n);
            return;
        }
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p);
            int qh = Bits.i32(src, p + 2);
            int o = dstOffset + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bits.u8(src, p + 6 + j);
                dst[o + j] = (((q & 15) | ((qh >>> j) & 1) << 4) - 16) * d;
                dst[o + j + 16] = (((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16) * d;
            }
        }
    }

    /** Same values as the scalar loop ((q5 − 16)·d), 16 at a time (prefill hot path). */
    static void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int qh = Bits.i32(src, p + 2);
            ByteVector qs = Simd.bytes(src, p + 6);
            ByteVector lo = Simd.lo(qs).lanewise(VectorOperators.SUB, (byte) 16, Simd.laneBits(~qh));
            ByteVector hi = Simd.hi(qs).lanewise(VectorOperators.SUB, (byte) 16, Simd.laneBits(~qh >>> 16));
            FloatVector d = Simd.f(Bits.f16(src, p));
            int o = dstOffset + 32 * b;
            Simd.toFloat(lo).mul(d).intoArray(dst, o);
            Simd.toFloat(hi).mul(d).intoArray(dst, o + 16);
        }
    }

    /** Same values as the scalar loop ((q5 − 16)·d), at any width (prefill hot path). */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int qh = src.get(Bits.INT_LE, p + 2);
            FloatVector d = FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p)));
            int o = dstOffset + 32 * b;
            for (int half = 0; half < 2; half++) {
                for (int i = 0; i < 16; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 6 + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        int j = i + part * Simd.VL;
                        IntVector top = IntVector.broadcast(Simd.VI, qh >>> (j + 16 * half)).lanewise(VectorOperators.LSHR, IOTA_I)
                                .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                        IntVector v = ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHR, 4 * half).lanewise(VectorOperators.AND, LOW4_I)
                                .lanewise(VectorOperators.OR, top).lanewise(VectorOperators.SUB, OFFSET16_I);
                        ((FloatVector) v.convertShape(VectorOperators.I2F, Simd.V, 0)).mul(d).intoArray(dst, o + 16 * half + j);
                    }
                }
            }
        }
    }

    /**
     * Any width: each decoded vector ({@code (q5 − 16)·d}, {@link #dequantize}'s value, decoded as
     * {@link #dequantizeGeneric}) taken by one multiply-add per activation row in the natural (tile) order, as the
     * tile path.
     */
    @Override
    public boolean dotTile(MemorySegment src, long offset, float[] x, int xOffset, int rows, float[] y, int yOffset, int yStride, int n,
            float[] scratch) {
        if (!Simd.VECTOR) {
            return false;
        }
        Bits.checkRow(this, n);
        // a second row that is absent reads row 0 again; its sum is not stored
        int x1 = rows > 1 ? xOffset + n : xOffset;
        boolean many = rows > 1;
        FloatVector a0 = FloatVector.zero(Simd.V);
        FloatVector a1 = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int qh = src.get(Bits.INT_LE, p + 2);
            FloatVector d = FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p)));
            for (int half = 0; half < 2; half++) {
                for (int i = 0; i < 16; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 6 + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        int j = i + part * Simd.VL;
                        IntVector top = IntVector.broadcast(Simd.VI, qh >>> (j + 16 * half)).lanewise(VectorOperators.LSHR, IOTA_I)
                                .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                        IntVector v = ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHR, 4 * half).lanewise(VectorOperators.AND, LOW4_I)
                                .lanewise(VectorOperators.OR, top).lanewise(VectorOperators.SUB, OFFSET16_I);
                        FloatVector w = ((FloatVector) v.convertShape(VectorOperators.I2F, Simd.V, 0)).mul(d);
                        int e = 32 * b + 16 * half + j;
                        a0 = w.fma(FloatVector.fromArray(Simd.V, x, xOffset + e), a0);
                        if (many) {
                            a1 = w.fma(FloatVector.fromArray(Simd.V, x, x1 + e), a1);
                        }
                    }
                }
            }
        }
        a0.intoArray(scratch, 0);
        a1.intoArray(scratch, Simd.VL);
        Simd.tileSums(scratch, rows, y, yOffset, yStride);
        return true;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        Bits.checkRow(this, n);
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n)
                : !Simd.VECTOR ? dotScalar(src, offset, x, xOffset, n)
                : Simd.VP == 2 ? dot128(src, offset, x, xOffset, n) : dotGeneric(src, offset, x, xOffset, n);
    }

    /**
     * {@link #dotGeneric} at 128 bits (4 float lanes): each 4 nibble bytes read as one int and widened from
     * their own vector. Widening the upper half of an 8-byte vector ({@code convertShape(B2I, VI, 1)}) slices
     * first, which C2 left boxed (48 bytes per call, KernelAllocationTest); a separate method keeps
     * dotGeneric's bytecode, and so its compiled code at 256 bits, as it was.
     */
    static float dot128(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            int qh = src.get(Bits.INT_LE, p + 2);
            FloatVector s0 = FloatVector.zero(Simd.V);
            FloatVector s1 = FloatVector.zero(Simd.V);
            for (int j = 0; j < 16; j += Simd.VL) {
                IntVector qi = (IntVector) IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, p + 6 + j)).reinterpretAsBytes()
                        .convertShape(VectorOperators.B2I, Simd.VI, 0);
                IntVector hLo = IntVector.broadcast(Simd.VI, qh >>> j).lanewise(VectorOperators.LSHR, IOTA_I)
                        .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                IntVector hHi = IntVector.broadcast(Simd.VI, qh >>> (j + 16)).lanewise(VectorOperators.LSHR, IOTA_I)
                        .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                IntVector lo = qi.lanewise(VectorOperators.AND, LOW4_I).lanewise(VectorOperators.OR, hLo)
                        .lanewise(VectorOperators.SUB, OFFSET16_I);
                IntVector hi = qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                        .lanewise(VectorOperators.OR, hHi).lanewise(VectorOperators.SUB, OFFSET16_I);
                s0 = ((FloatVector) lo.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j), s0);
                s1 = ((FloatVector) hi.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j + 16), s1);
            }
            acc = s0.add(s1).fma(FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p))), acc);
        }
        return Simd.sum(acc);
    }

    /**
     * Any width ({@link Simd#V}): the 16 bytes of nibbles {@link Simd#VBL} at a time, widened to ints once;
     * each lane's 5th bit taken from the broadcast qh word shifted by the lane index; Σ(q5−16)·x per block,
     * then the block scale by one multiply-add. Vector calls written out here (see Simd).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            int qh = src.get(Bits.INT_LE, p + 2);
            FloatVector s0 = FloatVector.zero(Simd.V);
            FloatVector s1 = FloatVector.zero(Simd.V);
            for (int o = 0; o < 16; o += Simd.VBL) {
                ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 6 + o, Simd.LE);
                for (int part = 0; part < Simd.VP; part++) {
                    int j = o + part * Simd.VL;
                    IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part);
                    IntVector hLo = IntVector.broadcast(Simd.VI, qh >>> j).lanewise(VectorOperators.LSHR, IOTA_I)
                            .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                    IntVector hHi = IntVector.broadcast(Simd.VI, qh >>> (j + 16)).lanewise(VectorOperators.LSHR, IOTA_I)
                            .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BIT4_I);
                    IntVector lo = qi.lanewise(VectorOperators.AND, LOW4_I).lanewise(VectorOperators.OR, hLo)
                            .lanewise(VectorOperators.SUB, OFFSET16_I);
                    IntVector hi = qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                            .lanewise(VectorOperators.OR, hHi).lanewise(VectorOperators.SUB, OFFSET16_I);
                    s0 = ((FloatVector) lo.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j), s0);
                    s1 = ((FloatVector) hi.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j + 16), s1);
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
            int qh = Bits.i32(src, p + 2);
            int xi = xOffset + 32 * b;
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = Bits.u8(src, p + 6 + j);
                s += (((q & 15) | ((qh >>> j) & 1) << 4) - 16) * x[xi + j]
                        + (((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16) * x[xi + j + 16];
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
            int qh = Bits.i32(src, p + 2);
            ByteVector qs = Simd.bytes(src, p + 6);
            // q5 − 16 = nibble − (5th bit clear ? 16 : 0); the 5th bits of qh are a lane mask as they stand
            ByteVector lo = Simd.lo(qs).lanewise(VectorOperators.SUB, (byte) 16, Simd.laneBits(~qh));
            ByteVector hi = Simd.hi(qs).lanewise(VectorOperators.SUB, (byte) 16, Simd.laneBits(~qh >>> 16));
            FloatVector s = Simd.toFloat(lo).mul(Simd.x(x, xi));
            s = Simd.toFloat(hi).fma(Simd.x(x, xi + 16), s);
            acc = s.fma(Simd.f(Bits.f16(src, p)), acc);
        }
        return Simd.sum(acc);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** quantize_row_q5_0_ref: d = (signed max-magnitude element)/−16, q = min(31, trunc(x/d + 16.5)). */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        Bits.checkRow(this, n);
        for (int b = 0; b < n / 32; b++) {
            int s = srcOffset + 32 * b;
            long p = offset + (long) b * BLOCK;
            float d = Bits.signedAbsMax(src, s, 32) / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bits.putF16(dst, p, d);
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(31, (int) (src[s + j] * id + 16.5f));
                int q1 = Math.min(31, (int) (src[s + j + 16] * id + 16.5f));
                Bits.putU8(dst, p + 6 + j, (q0 & 15) | (q1 & 15) << 4);
                qh |= (q0 >> 4) << j;
                qh |= (q1 >> 4) << (j + 16);
            }
            dst.set(Bits.INT_LE, p + 2, qh);
        }
    }
}
