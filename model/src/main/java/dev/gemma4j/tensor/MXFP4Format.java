package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * MXFP4: 17-byte blocks of 32: e:u8 (E8M0 exponent), qs[16] of E2M1 codes;
 * y = F[nibble]·2^(e−128) with F the E2M1 values doubled.
 */
final class MXFP4Format implements TensorFormat {
    private static final int BLOCK = 17;

    @Override
    public GgmlType type() {
        return GgmlType.MXFP4;
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
            float d = Bits.e8m0Half(Bits.u8(src, p));
            int o = dstOffset + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bits.u8(src, p + 1 + j);
                dst[o + j] = Bits.MXFP4_VALUES[q & 15] * d;
                dst[o + j + 16] = Bits.MXFP4_VALUES[q >> 4] * d;
            }
        }
    }

    /**
     * The scalar loop's values (F[nibble]·2^(e−128), exact products) at every width, for the prefill
     * tiles: the lookup of {@link #dotGeneric}, each {@link Simd#VL} values multiplied by the block scale and
     * stored.
     */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int o = dstOffset + 32 * b;
            int e = src.get(ValueLayout.JAVA_BYTE, p) & 0xFF;
            FloatVector d = FloatVector.broadcast(Simd.V, Float.intBitsToFloat(e < 2 ? 0x00200000 << e : (e - 1) << 23));
            ByteVector q = ByteVector.fromMemorySegment(Simd.B, src, p + 1, Simd.LE);
            ByteVector lo = q.selectFrom(Simd.MXFP4_TABLE);
            ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().selectFrom(Simd.MXFP4_TABLE);
            for (int j = 0; j < 16; j += Simd.VL) {
                ((FloatVector) ((IntVector) lo.convertShape(VectorOperators.B2I, Simd.VI, 0)).convertShape(VectorOperators.I2F, Simd.V, 0))
                        .mul(d).intoArray(dst, o + j);
                ((FloatVector) ((IntVector) hi.convertShape(VectorOperators.B2I, Simd.VI, 0)).convertShape(VectorOperators.I2F, Simd.V, 0))
                        .mul(d).intoArray(dst, o + j + 16);
                lo = lo.rearrange(Simd.NEXT_VL);
                hi = hi.rearrange(Simd.NEXT_VL);
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
     * 128 and 256 bits ({@link Simd#VL} = 4 or 8): the 16 code bytes in one 16-byte load, the low and high
     * nibbles (the bytes as they are, and shifted right by 4 in int lanes) each looked up in
     * {@link Simd#MXFP4_TABLE} by one byte shuffle (pshufb, tbl) with no mask: {@code selectFrom} wraps its
     * indices modulo the 16 lanes, which keeps exactly the low 4 bits; then {@code VL} values
     * at a time widened to ints and floats from the bottom of the vector, which a constant byte rearrange
     * moves down by {@code VL} lanes for the next step (widening {@code convertShape(B2I, VI, part)} with
     * part &gt; 0 slices first, which C2 left boxed at 128 bits in the other formats). The block scale
     * 2^(e−128) ({@link Bits#e8m0Half}, written out: no calls after the first vector op) by one multiply-add
     * per block. Vector calls written out here (see Simd).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            FloatVector s0 = FloatVector.zero(Simd.V);
            FloatVector s1 = FloatVector.zero(Simd.V);
            ByteVector q = ByteVector.fromMemorySegment(Simd.B, src, p + 1, Simd.LE);
            ByteVector lo = q.selectFrom(Simd.MXFP4_TABLE);
            ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().selectFrom(Simd.MXFP4_TABLE);
            for (int j = 0; j < 16; j += Simd.VL) {
                IntVector l = (IntVector) lo.convertShape(VectorOperators.B2I, Simd.VI, 0);
                IntVector h = (IntVector) hi.convertShape(VectorOperators.B2I, Simd.VI, 0);
                s0 = ((FloatVector) l.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j), s0);
                s1 = ((FloatVector) h.convertShape(VectorOperators.I2F, Simd.V, 0)).fma(FloatVector.fromArray(Simd.V, x, xi + j + 16), s1);
                lo = lo.rearrange(Simd.NEXT_VL);
                hi = hi.rearrange(Simd.NEXT_VL);
            }
            int e = src.get(ValueLayout.JAVA_BYTE, p) & 0xFF;
            float d = Float.intBitsToFloat(e < 2 ? 0x00200000 << e : (e - 1) << 23);
            acc = s0.add(s1).fma(FloatVector.broadcast(Simd.V, d), acc);
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
                int q = Bits.u8(src, p + 1 + j);
                s += Bits.MXFP4_VALUES[q & 15] * x[xi + j] + Bits.MXFP4_VALUES[q >> 4] * x[xi + j + 16];
            }
            sum += Bits.e8m0Half(Bits.u8(src, p)) * s;
        }
        return sum;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / 32; b++) {
            long p = offset + (long) b * BLOCK;
            int xi = xOffset + 32 * b;
            ByteVector qs = Simd.bytes(src, p + 1);
            FloatVector s = Simd.toFloat(Simd.lookup(Simd.MXFP4_TABLE, Simd.lo(qs))).mul(Simd.x(x, xi));
            s = Simd.toFloat(Simd.lookup(Simd.MXFP4_TABLE, Simd.hi(qs))).fma(Simd.x(x, xi + 16), s);
            acc = s.fma(Simd.f(Bits.e8m0Half(Bits.u8(src, p))), acc);
        }
        return Simd.sum(acc);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /**
     * quantize_row_mxfp4_ref: e = floor(log2(amax)) − 2 + 127 (log2 rounded to float first, as log2f),
     * then each element takes the first code with the smallest |F·2^(e−128) − x|.
     */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        Bits.checkRow(this, n);
        for (int b = 0; b < n / 32; b++) {
            int s = srcOffset + 32 * b;
            long p = offset + (long) b * BLOCK;
            float amax = Math.abs(Bits.signedAbsMax(src, s, 32));
            int e = 0;
            if (amax > 0) {
                float log2 = (float) (Math.log(amax) / Math.log(2));
                e = ((int) ((float) Math.floor(log2) - 2 + 127)) & 0xFF;
            }
            float d = Bits.e8m0Half(e);
            Bits.putU8(dst, p, e);
            for (int j = 0; j < 16; j++) {
                Bits.putU8(dst, p + 1 + j, nearestCode(src[s + j], d) | nearestCode(src[s + j + 16], d) << 4);
            }
        }
    }

    private static int nearestCode(float x, float d) {
        int best = 0;
        float bestErr = Math.abs(Bits.MXFP4_VALUES[0] * d - x);
        for (int i = 1; i < 16; i++) {
            float err = Math.abs(Bits.MXFP4_VALUES[i] * d - x);
            if (err < bestErr) {
                best = i;
                bestErr = err;
            }
        }
        return best;
    }
}
