package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/** Q8_0: 34-byte blocks of 32: d:f16, qs:i8[32]; y = d·q. */
final class Q8_0Format implements TensorFormat {
    private static final int BLOCK = 34;

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
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
            int o = dstOffset + 32 * b;
            for (int j = 0; j < 32; j++) {
                dst[o + j] = Bits.i8(src, p + 2 + j) * d;
            }
        }
    }

    /** Same values as the scalar loop (q·d), 16 at a time (prefill hot path). */
    static void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            FloatVector d = Simd.f(Bits.f16(src, p));
            jdk.incubator.vector.ByteVector q = Simd.bytes32(src, p + 2);
            int o = dstOffset + 32 * b;
            Simd.toFloat(q, 0).mul(d).intoArray(dst, o);
            Simd.toFloat(q, 1).mul(d).intoArray(dst, o + 16);
        }
    }

    /** Same values as the scalar loop (q·d), at any width (prefill hot path). */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            FloatVector d = FloatVector.broadcast(Simd.V, Bits.f16(src, p));
            int o = dstOffset + 32 * b;
            for (int i = 0; i < 32; i += Simd.VBL) {
                ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 2 + i, Simd.LE);
                for (int part = 0; part < Simd.VP; part++) {
                    ((FloatVector) q.convertShape(VectorOperators.B2F, Simd.V, part)).mul(d)
                            .intoArray(dst, o + i + part * Simd.VL);
                }
            }
        }
    }

    /**
     * Any width: each decoded vector ({@code q·d}, {@link #dequantize}'s value) taken by one multiply-add per activation
     * row in the natural (tile) order, as the tile path after {@link #dequantizeGeneric}. Bytes widened through
     * ints, as {@link Q4_KFormat}'s kernel (the direct byte-to-float widening of an 8-byte load's upper half was
     * left boxed at 128 bits: {@link #dot128}).
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
            FloatVector d = FloatVector.broadcast(Simd.V, Float.float16ToFloat(src.get(Bits.SHORT_LE, p)));
            for (int i = 0; i < 32; i += Simd.VBL) {
                ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 2 + i, Simd.LE);
                for (int part = 0; part < Simd.VP; part++) {
                    FloatVector w = ((FloatVector) ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                            .convertShape(VectorOperators.I2F, Simd.V, 0)).mul(d);
                    int e = 32 * b + i + part * Simd.VL;
                    a0 = w.fma(FloatVector.fromArray(Simd.V, x, xOffset + e), a0);
                    if (many) {
                        a1 = w.fma(FloatVector.fromArray(Simd.V, x, x1 + e), a1);
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
                : Simd.VP == 2 ? dot128(src, offset, x, xOffset, n)
                : Simd.VECTOR ? dotGeneric(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    /**
     * 128 bits, {@link #dotGeneric}'s operations in its order, but each 4 bytes read as one int and widened
     * from its own vector: {@code convertShape(B2F, V, 1)} on an 8-byte load slices first, which C2 now and
     * then left boxed (KernelAllocationTest at width 128), as in {@link Q5_0Format#dot128}.
     */
    static float dot128(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            FloatVector s0 = FloatVector.zero(Simd.V);
            FloatVector s1 = FloatVector.zero(Simd.V);
            for (int o = 0; o < 32; o += 16) {
                for (int part = 0; part < 2; part++) {
                    IntVector q0 = (IntVector) IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, p + 2 + o + 4 * part))
                            .reinterpretAsBytes().convertShape(VectorOperators.B2I, Simd.VI, 0);
                    IntVector q1 = (IntVector) IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, p + 2 + o + 8 + 4 * part))
                            .reinterpretAsBytes().convertShape(VectorOperators.B2I, Simd.VI, 0);
                    s0 = ((FloatVector) q0.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + o + 4 * part), s0);
                    s1 = ((FloatVector) q1.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + o + 8 + 4 * part), s1);
                }
            }
            acc = s0.add(s1).fma(FloatVector.broadcast(Simd.V, Bits.f16(src, p)), acc);
        }
        return Simd.sum(acc);
    }

    /**
     * Any width ({@link Simd#V}): the 32 bytes of a block in {@link Simd#VBL}-byte loads, two independent
     * partial sums per block, then one multiply-add of the block scale. Vector calls written out here (see Simd).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            FloatVector s0 = FloatVector.zero(Simd.V);
            FloatVector s1 = FloatVector.zero(Simd.V);
            for (int o = 0; o < 32; o += 2 * Simd.VBL) {
                ByteVector q0 = ByteVector.fromMemorySegment(Simd.VB, src, p + 2 + o, Simd.LE);
                ByteVector q1 = ByteVector.fromMemorySegment(Simd.VB, src, p + 2 + o + Simd.VBL, Simd.LE);
                for (int part = 0; part < Simd.VP; part++) {
                    s0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, Simd.V, part))
                            .fma(FloatVector.fromArray(Simd.V, x, xi + o + part * Simd.VL), s0);
                    s1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, Simd.V, part))
                            .fma(FloatVector.fromArray(Simd.V, x, xi + o + Simd.VBL + part * Simd.VL), s1);
                }
            }
            acc = s0.add(s1).fma(FloatVector.broadcast(Simd.V, Bits.f16(src, p)), acc);
        }
        return Simd.sum(acc);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            float s = 0;
            for (int j = 0; j < 32; j++) {
                s += Bits.i8(src, p + 2 + j) * x[xi + j];
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
            FloatVector s = Simd.toFloat(Simd.bytes(src, p + 2)).mul(Simd.x(x, xi));
            s = Simd.toFloat(Simd.bytes(src, p + 18)).fma(Simd.x(x, xi + 16), s);
            acc = s.fma(Simd.f(Bits.f16(src, p)), acc);
        }
        return Simd.sum(acc);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d) (ties away from zero). */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        Bits.checkRow(this, n);
        for (int b = 0; b < n / 32; b++) {
            int s = srcOffset + 32 * b;
            long p = offset + (long) b * BLOCK;
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(src[s + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bits.putF16(dst, p, d);
            for (int j = 0; j < 32; j++) {
                Bits.putU8(dst, p + 2 + j, (int) Bits.roundHalfAway(src[s + j] * id));
            }
        }
    }
}
