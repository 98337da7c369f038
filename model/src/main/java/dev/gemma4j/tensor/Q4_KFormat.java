package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Q4_K: 144-byte super-blocks of 256: d:f16, dmin:f16, sc[12] (eight 6-bit scales and mins), qs[128].
 * Sub-block k (32 elements): y = d·S_k·q − dmin·M_k.
 */
final class Q4_KFormat implements TensorFormat {
    private static final int BLOCK = 144;
    private static final ByteVector LOW4 = ByteVector.broadcast(Simd.B2, (byte) 0x0F);
    private static final IntVector LOW4_I = IntVector.broadcast(Simd.VI, 0x0F);

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /** 6-bit scale of sub-block k (0..7) from the 12 packed bytes at {@code sc}. */
    static int scale(MemorySegment s, long sc, int k) {
        return k < 4 ? Bits.u8(s, sc + k) & 63
                : (Bits.u8(s, sc + k + 4) & 15) | ((Bits.u8(s, sc + k - 4) >> 6) << 4);
    }

    /** 6-bit min of sub-block k. */
    static int min(MemorySegment s, long sc, int k) {
        return k < 4 ? Bits.u8(s, sc + k + 4) & 63
                : (Bits.u8(s, sc + k + 4) >> 4) | ((Bits.u8(s, sc + k) >> 6) << 4);
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
                float d1 = d * scale(src, p + 4, 2 * c);
                float m1 = dmin * min(src, p + 4, 2 * c);
                float d2 = d * scale(src, p + 4, 2 * c + 1);
                float m2 = dmin * min(src, p + 4, 2 * c + 1);
                for (int l = 0; l < 32; l++) {
                    int q = Bits.u8(src, p + 16 + 32 * c + l);
                    dst[o + 64 * c + l] = d1 * (q & 15) - m1;
                    dst[o + 64 * c + 32 + l] = d2 * (q >> 4) - m2;
                }
            }
        }
    }

    /**
     * Same values as the scalar loop (d·S·q − dmin·M, multiply then subtract), at any width (the prefill tiles at
     * 128 and 256 bits; at 512 the tiles use {@link #dequantizeTile}). At 512 bits too: a 512-bit variant that
     * widened 32-byte vectors in two parts fell back to non-intrinsic conversions in a JVM whose profiles were mixed.
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
                // sub-block j: the low (j even) or high nibbles of chunk j/2; scale and min unpacked in place
                int sh = 8 * (j & 3);
                int sc = j < 4 ? (int) (lo >>> sh) & 63 : (hi >>> sh) & 15 | ((int) (lo >>> sh) & 0xC0) >> 2;
                int mn = j < 4 ? (int) (lo >>> (sh + 32)) & 63 : (hi >>> (sh + 4)) & 15 | ((int) (lo >>> (sh + 32)) & 0xC0) >> 2;
                FloatVector vd = FloatVector.broadcast(Simd.V, d * sc);
                FloatVector vm = FloatVector.broadcast(Simd.V, dmin * mn);
                int o = dstOffset + 256 * b + 32 * j;
                for (int i = 0; i < 32; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 16 + 32 * (j >> 1) + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        IntVector qi = ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHR, 4 * (j & 1)).lanewise(VectorOperators.AND, LOW4_I);
                        ((FloatVector) qi.convertShape(VectorOperators.I2F, Simd.V, 0)).mul(vd).sub(vm)
                                .intoArray(dst, o + i + part * Simd.VL);
                    }
                }
            }
        }
    }

    /**
     * {@link #dequantizeGeneric}'s values dotted with one or two activation rows as they are made (see
     * {@link TensorFormat#dotTile}): each weight vector is used by every row from its register instead of being
     * stored to a tile and loaded back once per row.
     */
    @Override
    public boolean dotTile(MemorySegment src, long offset, float[] x, int xOffset, int rows, float[] y, int yOffset, int yStride, int n,
            float[] scratch) {
        if (!Simd.VECTOR) {
            return false;
        }
        Bits.checkRow(this, n);
        if (TILE_ORDERED) {
            return dotTile512(src, offset, x, xOffset, rows, y, yOffset, yStride, n, scratch);
        }
        // a second row that is absent reads row 0 again; its sum is not stored
        int x1 = rows > 1 ? xOffset + n : xOffset;
        boolean many = rows > 1;
        FloatVector a0 = FloatVector.zero(Simd.V);
        FloatVector a1 = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = src.get(Bits.INT_LE, p);
            long lo = src.get(Bits.LONG_LE, p + 4);
            int hi = src.get(Bits.INT_LE, p + 12);
            float d = Float.float16ToFloat((short) head);
            float dmin = Float.float16ToFloat((short) (head >>> 16));
            for (int j = 0; j < 8; j++) {
                int sh = 8 * (j & 3);
                int sc = j < 4 ? (int) (lo >>> sh) & 63 : (hi >>> sh) & 15 | ((int) (lo >>> sh) & 0xC0) >> 2;
                int mn = j < 4 ? (int) (lo >>> (sh + 32)) & 63 : (hi >>> (sh + 4)) & 15 | ((int) (lo >>> (sh + 32)) & 0xC0) >> 2;
                FloatVector vd = FloatVector.broadcast(Simd.V, d * sc);
                FloatVector vm = FloatVector.broadcast(Simd.V, dmin * mn);
                int o = 256 * b + 32 * j;
                for (int i = 0; i < 32; i += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 16 + 32 * (j >> 1) + i, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        IntVector qi = ((IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part))
                                .lanewise(VectorOperators.LSHR, 4 * (j & 1)).lanewise(VectorOperators.AND, LOW4_I);
                        FloatVector w = ((FloatVector) qi.convertShape(VectorOperators.I2F, Simd.V, 0)).mul(vd).sub(vm);
                        int e = o + i + part * Simd.VL;
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
     * Every vector width prepares activations: 256 reordered activations per block, then the eight sub-block
     * sums (at 512 bits after eight zeros, so that one 16-lane multiply-add with the block's {@code dmin·M}
     * lanes takes the min term). See {@link #prepare}.
     */
    static final boolean PREPARED = Simd.VECTOR && !"false".equals(System.getProperty("gemma4j.prepared"));
    private static final int PREPARED_BLOCK = Simd.VL == 16 ? 272 : 264;
    /** Where a block's sub-block sums start in the prepared block. */
    private static final int PREPARED_SUMS = Simd.VL == 16 ? 264 : 256;

    @Override
    public int preparedSize(int n) {
        return PREPARED ? n / 256 * PREPARED_BLOCK : 0;
    }

    /**
     * The order {@link #dotPrepared} reads activations in: per block, loads of {@code 4·VL} quant bytes at
     * offset o of qs as VL int lanes, and in each load the eight nibbles k of an int lane (byte k/2, low nibble
     * for even k): lane i of that vector reads quant byte {@code q = o + 4i + k/2}, which lies in chunk
     * {@code q/32} (32 bytes: sub-block {@code 2·(q/32)} in the low nibbles, the next one in the high ones), so
     * it is element {@code 64·(q/32) + 32·(k&1) + q%32}. Then the sums of the eight 32-element sub-blocks.
     */
    @Override
    public void prepare(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        int vl = Simd.VL;
        for (int b = 0; b < n / 256; b++) {
            int xb = xOffset + 256 * b;
            int db = dstOffset + PREPARED_BLOCK * b;
            int t = db;
            for (int o = 0; o < 128; o += 4 * vl) {
                for (int k = 0; k < 8; k++) {
                    for (int i = 0; i < vl; i++) {
                        int q = o + 4 * i + (k >> 1);
                        dst[t++] = x[xb + 64 * (q >> 5) + 32 * (k & 1) + (q & 31)];
                    }
                }
            }
            for (int j = t; j < db + PREPARED_SUMS; j++) {
                dst[j] = 0;
            }
            for (int j = 0; j < 8; j++) {
                float sum = 0;
                for (int i = 0; i < 32; i++) {
                    sum += x[xb + 32 * j + i];
                }
                dst[db + PREPARED_SUMS + j] = sum;
            }
        }
    }

    @Override
    public float dotPrepared(MemorySegment src, long offset, float[] px, int pxOffset, int n) {
        return Simd.VL == 16 ? dotPrepared512(src, offset, px, pxOffset, n) : dotPrepared256(src, offset, px, pxOffset, n);
    }

    /** Lanes 8..15 of a 16-lane vector. */
    private static final VectorMask<Float> UPPER8 = VectorMask.fromLong(Simd.V, 0xFF00L);
    /**
     * At 512 bits, for the block's two 64-byte loads g and their low (h = 0) or high (h = 1) nibbles: lanes
     * 0..7 come from chunk 2g (sub-block 4g + h), lanes 8..15 from chunk 2g + 1 (sub-block 4g + 2 + h). Index
     * {@code 2g + h}: the shuffle that takes those two sub-blocks' {@code d·S} from the block's scale vector.
     */
    private static final VectorShuffle<Float>[] SCALE_OF_LOAD =
            Simd.shuffles512(4, (gh, i) -> 4 * (gh >> 1) + (gh & 1) + (i < 8 ? 0 : 2));

    /**
     * 512 bits, activations from {@link #prepare}: the 128 quant bytes of a block in two 64-byte loads of 16
     * int lanes (lanes 0..7 one chunk, 8..15 the next); each nibble one shift and mask away from 16 weights.
     * The block's scales and mins never pass through scalar float code: the 12 packed bytes are unpacked with
     * 64-bit integer operations into eight 6-bit scales and eight 6-bit mins, one byte each, converted to one
     * 16-lane vector and multiplied by {@code (d ×8, dmin ×8)}; each load's pair of sub-block scales is then
     * one lane shuffle of it, and the min term one multiply-add with the prepared sums (zeros under the
     * scale lanes). Scalar unpacking per sub-block cost about as much as the products themselves.
     */
    static float dotPrepared512(MemorySegment src, long offset, float[] px, int pxOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        FloatVector accMin = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = src.get(Bits.INT_LE, p);
            long lo = src.get(Bits.LONG_LE, p + 4);
            int hi = src.get(Bits.INT_LE, p + 12);
            long scales = scalesOf(lo, hi);
            long mins = minsOf(lo, hi);
            FloatVector dd = FloatVector.broadcast(Simd.V, Float.float16ToFloat((short) head))
                    .blend(Float.float16ToFloat((short) (head >>> 16)), UPPER8);
            FloatVector sm = ((FloatVector) LongVector.zero(LongVector.SPECIES_128).withLane(0, scales).withLane(1, mins)
                    .reinterpretAsBytes().convertShape(VectorOperators.B2F, Simd.V, 0)).mul(dd);
            int pb = pxOffset + PREPARED_BLOCK * b;
            accMin = sm.fma(FloatVector.fromArray(Simd.V, px, pb + 256), accMin);
            for (int g = 0; g < 2; g++) {
                IntVector w = IntVector.fromMemorySegment(Simd.VI, src, p + 16 + 64 * g, Simd.LE);
                int xi = pb + 128 * g;
                FloatVector lo0 = FloatVector.zero(Simd.V);
                FloatVector lo1 = FloatVector.zero(Simd.V);
                FloatVector hi0 = FloatVector.zero(Simd.V);
                FloatVector hi1 = FloatVector.zero(Simd.V);
                // byte k of every int lane, low and high nibble; one copy of the vector code (see dotPrepared256)
                for (int k = 0; k < 4; k++) {
                    IntVector wk = w.lanewise(VectorOperators.LSHR, 8 * k);
                    int xk = xi + 32 * k;
                    FloatVector ql = (FloatVector) wk.lanewise(VectorOperators.AND, LOW4_I).convertShape(VectorOperators.I2F, Simd.V, 0);
                    FloatVector qh = (FloatVector) wk.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                            .convertShape(VectorOperators.I2F, Simd.V, 0);
                    if ((k & 1) == 0) {
                        lo0 = ql.fma(FloatVector.fromArray(Simd.V, px, xk), lo0);
                        hi0 = qh.fma(FloatVector.fromArray(Simd.V, px, xk + 16), hi0);
                    } else {
                        lo1 = ql.fma(FloatVector.fromArray(Simd.V, px, xk), lo1);
                        hi1 = qh.fma(FloatVector.fromArray(Simd.V, px, xk + 16), hi1);
                    }
                }
                acc = lo0.add(lo1).fma(sm.rearrange(SCALE_OF_LOAD[2 * g]), acc);
                acc = hi0.add(hi1).fma(sm.rearrange(SCALE_OF_LOAD[2 * g + 1]), acc);
            }
        }
        return Simd.sum(acc) - Simd.sum(accMin);
    }

    /**
     * At 512 bits the tiles (several activation rows, the batch-invariant server's rows) use {@link #prepare}'s
     * order too: a 64-byte load then gives 16 weights per shift and mask, where the natural order widens 16
     * bytes per 16 weights (about twice the one-row kernel's time per weight).
     */
    static final boolean TILE_ORDERED = PREPARED && Simd.VL == 16;
    /** As {@link #SCALE_OF_LOAD}, for the same sub-blocks' {@code dmin·M} (lanes 8..15 of the scale vector). */
    private static final VectorShuffle<Float>[] MIN_OF_LOAD =
            Simd.shuffles512(4, (gh, i) -> 8 + 4 * (gh >> 1) + (gh & 1) + (i < 8 ? 0 : 2));

    /** Eight 6-bit scales of a block, one per byte, from its packed bytes 4..15 ({@code lo}, {@code hi}). */
    private static long scalesOf(long lo, int hi) {
        // scale j < 4: bits 0..5 of byte j; j >= 4: low nibble of byte j + 4 and bits 6..7 of byte j - 4
        return lo & 0x3F3F3F3FL | ((hi & 0x0F0F0F0FL | (lo >>> 2) & 0x30303030L) << 32);
    }

    /** Eight 6-bit mins of a block, one per byte. */
    private static long minsOf(long lo, int hi) {
        // min j < 4: bits 0..5 of byte j + 4; j >= 4: high nibble of byte j + 4 and bits 6..7 of byte j
        return (lo >>> 32) & 0x3F3F3F3FL | (((hi >>> 4) & 0x0F0F0F0FL | (lo >>> 34) & 0x30303030L) << 32);
    }

    @Override
    public boolean tileOrdered() {
        return TILE_ORDERED;
    }

    /** The order of the first 256 floats of each block of {@link #prepare} (without the sub-block sums). */
    @Override
    public void permuteTile(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        if (!TILE_ORDERED) {
            System.arraycopy(x, xOffset, dst, dstOffset, n);
            return;
        }
        for (int b = 0; b < n / 256; b++) {
            int xb = xOffset + 256 * b;
            int t = dstOffset + 256 * b;
            for (int o = 0; o < 128; o += 64) {
                for (int k = 0; k < 8; k++) {
                    for (int i = 0; i < 16; i++) {
                        int q = o + 4 * i + (k >> 1);
                        dst[t++] = x[xb + 64 * (q >> 5) + 32 * (k & 1) + (q & 31)];
                    }
                }
            }
        }
    }

    /**
     * The values of {@link #dequantize} ({@code d·S·q − dmin·M}, multiply then subtract) in
     * {@link #permuteTile}'s order, unpacked as {@link #dotPrepared512} does; each lane's {@code d·S} and
     * {@code dmin·M} come from the block's scale vector by one shuffle per load and nibble.
     */
    @Override
    public void dequantizeTile(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        if (!TILE_ORDERED) {
            dequantize(src, offset, dst, dstOffset, n);
            return;
        }
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = src.get(Bits.INT_LE, p);
            long lo = src.get(Bits.LONG_LE, p + 4);
            int hi = src.get(Bits.INT_LE, p + 12);
            FloatVector dd = FloatVector.broadcast(Simd.V, Float.float16ToFloat((short) head))
                    .blend(Float.float16ToFloat((short) (head >>> 16)), UPPER8);
            FloatVector sm = ((FloatVector) LongVector.zero(LongVector.SPECIES_128).withLane(0, scalesOf(lo, hi)).withLane(1, minsOf(lo, hi))
                    .reinterpretAsBytes().convertShape(VectorOperators.B2F, Simd.V, 0)).mul(dd);
            for (int g = 0; g < 2; g++) {
                IntVector w = IntVector.fromMemorySegment(Simd.VI, src, p + 16 + 64 * g, Simd.LE);
                for (int h = 0; h < 2; h++) {
                    FloatVector vd = sm.rearrange(SCALE_OF_LOAD[2 * g + h]);
                    FloatVector vm = sm.rearrange(MIN_OF_LOAD[2 * g + h]);
                    for (int k = 0; k < 4; k++) {
                        ((FloatVector) w.lanewise(VectorOperators.LSHR, 8 * k + 4 * h).lanewise(VectorOperators.AND, LOW4_I)
                                .convertShape(VectorOperators.I2F, Simd.V, 0)).mul(vd).sub(vm)
                                .intoArray(dst, dstOffset + 256 * b + 128 * g + 32 * k + 16 * h);
                    }
                }
            }
        }
    }

    /** {@link #dequantizeTile}'s values at 512 bits dotted with one or two activation rows as they are made. */
    private static boolean dotTile512(MemorySegment src, long offset, float[] x, int xOffset, int rows, float[] y, int yOffset, int yStride,
            int n, float[] scratch) {
        int x1 = rows > 1 ? xOffset + n : xOffset;
        boolean many = rows > 1;
        FloatVector a0 = FloatVector.zero(Simd.V);
        FloatVector a1 = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = src.get(Bits.INT_LE, p);
            long lo = src.get(Bits.LONG_LE, p + 4);
            int hi = src.get(Bits.INT_LE, p + 12);
            FloatVector dd = FloatVector.broadcast(Simd.V, Float.float16ToFloat((short) head))
                    .blend(Float.float16ToFloat((short) (head >>> 16)), UPPER8);
            FloatVector sm = ((FloatVector) LongVector.zero(LongVector.SPECIES_128).withLane(0, scalesOf(lo, hi)).withLane(1, minsOf(lo, hi))
                    .reinterpretAsBytes().convertShape(VectorOperators.B2F, Simd.V, 0)).mul(dd);
            for (int g = 0; g < 2; g++) {
                IntVector w = IntVector.fromMemorySegment(Simd.VI, src, p + 16 + 64 * g, Simd.LE);
                FloatVector vd0 = sm.rearrange(SCALE_OF_LOAD[2 * g]);
                FloatVector vm0 = sm.rearrange(MIN_OF_LOAD[2 * g]);
                FloatVector vd1 = sm.rearrange(SCALE_OF_LOAD[2 * g + 1]);
                FloatVector vm1 = sm.rearrange(MIN_OF_LOAD[2 * g + 1]);
                for (int k = 0; k < 8; k++) {
                    // tile position 128g + 32·(k/2) + 16·(k%2): byte k/2 of each lane, low (k even) or high nibble
                    boolean high = (k & 1) == 1;
                    FloatVector wv = ((FloatVector) w.lanewise(VectorOperators.LSHR, 4 * k).lanewise(VectorOperators.AND, LOW4_I)
                            .convertShape(VectorOperators.I2F, Simd.V, 0)).mul(high ? vd1 : vd0).sub(high ? vm1 : vm0);
                    int e = 256 * b + 128 * g + 16 * k;
                    a0 = wv.fma(FloatVector.fromArray(Simd.V, x, xOffset + e), a0);
                    if (many) {
                        a1 = wv.fma(FloatVector.fromArray(Simd.V, x, x1 + e), a1);
                    }
                }
            }
        }
        a0.intoArray(scratch, 0);
        a1.intoArray(scratch, Simd.VL);
        Simd.tileSums(scratch, rows, y, yOffset, yStride);
        return true;
    }

    /**
     * 128/256 bits, activations from {@link #prepare}: each load of {@code 4·VL} weight bytes is VL int lanes,
     * and each of their eight nibbles is one shift and mask away from VL weights in the prepared activation
     * order: no byte widening, one load per 32 bytes at 256 bits. Σq·x per sub-block in two accumulators
     * each; the min term {@code dmin·Σ M_j·Σx_j} from the prepared sums in scalar code.
     */
    static float dotPrepared256(MemorySegment src, long offset, float[] px, int pxOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        float minSum = 0;
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = src.get(Bits.INT_LE, p);
            long lo = src.get(Bits.LONG_LE, p + 4);
            int hi = src.get(Bits.INT_LE, p + 12);
            float d = Float.float16ToFloat((short) head);
            float dmin = Float.float16ToFloat((short) (head >>> 16));
            int pb = pxOffset + PREPARED_BLOCK * b;
            for (int c = 0; c < 4; c++) {
                FloatVector lo0 = FloatVector.zero(Simd.V);
                FloatVector lo1 = FloatVector.zero(Simd.V);
                FloatVector hi0 = FloatVector.zero(Simd.V);
                FloatVector hi1 = FloatVector.zero(Simd.V);
                for (int o = 0; o < 32; o += 4 * Simd.VL) {
                    IntVector w = IntVector.fromMemorySegment(Simd.VI, src, p + 16 + 32 * c + o, Simd.LE);
                    int xi = pb + 64 * c + 2 * o;
                    // byte k of every int lane: its low nibble (sub-block 2c), its high nibble (2c+1); one copy
                    // of the vector code in a loop C2 unrolls after parsing (keeps the parse within C2's node
                    // budget, so the final lane sum is still inlined: KernelAllocationTest)
                    for (int k = 0; k < 4; k++) {
                        IntVector wk = w.lanewise(VectorOperators.LSHR, 8 * k);
                        int xk = xi + 2 * k * Simd.VL;
                        FloatVector ql = (FloatVector) wk.lanewise(VectorOperators.AND, LOW4_I).convertShape(VectorOperators.I2F, Simd.V, 0);
                        FloatVector qh = (FloatVector) wk.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                                .convertShape(VectorOperators.I2F, Simd.V, 0);
                        if ((k & 1) == 0) {
                            lo0 = ql.fma(FloatVector.fromArray(Simd.V, px, xk), lo0);
                            hi0 = qh.fma(FloatVector.fromArray(Simd.V, px, xk + Simd.VL), hi0);
                        } else {
                            lo1 = ql.fma(FloatVector.fromArray(Simd.V, px, xk), lo1);
                            hi1 = qh.fma(FloatVector.fromArray(Simd.V, px, xk + Simd.VL), hi1);
                        }
                    }
                }
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
                acc = lo0.add(lo1).fma(FloatVector.broadcast(Simd.V, d * s0), acc);
                acc = hi0.add(hi1).fma(FloatVector.broadcast(Simd.V, d * s1), acc);
                minSum += dmin * (m0 * px[pb + PREPARED_SUMS + 2 * c] + m1 * px[pb + PREPARED_SUMS + 1 + 2 * c]);
            }
        }
        return Simd.sum(acc) - minSum;
    }

    /**
     * Any width ({@link Simd#V}). Per 32-byte chunk c (sub-blocks 2c in the low nibbles, 2c+1 in the high):
     * bytes loaded {@link Simd#VBL} at a time, widened to ints once, both nibbles taken in int lanes and
     * converted to floats; Σq·x and Σx per sub-block in separate accumulators, then the block's
     * {@code d·S} and {@code dmin·M} applied by one multiply-add each. Vector calls written out here (see Simd).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        FloatVector accMin = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = Bits.i32(src, p);
            long lo = Bits.i64(src, p + 4);
            int hi = Bits.i32(src, p + 12);
            float d = Bits.halfOf(head, 0);
            float dmin = Bits.halfOf(head, 1);
            for (int c = 0; c < 4; c++) {
                FloatVector sLo = FloatVector.zero(Simd.V);
                FloatVector sHi = FloatVector.zero(Simd.V);
                FloatVector xLo = FloatVector.zero(Simd.V);
                FloatVector xHi = FloatVector.zero(Simd.V);
                int xb = xOffset + 256 * b + 64 * c;
                for (int o = 0; o < 32; o += Simd.VBL) {
                    ByteVector q = ByteVector.fromMemorySegment(Simd.VB, src, p + 16 + 32 * c + o, Simd.LE);
                    for (int part = 0; part < Simd.VP; part++) {
                        IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, Simd.VI, part);
                        FloatVector ql = (FloatVector) qi.lanewise(VectorOperators.AND, LOW4_I)
                                .convertShape(VectorOperators.I2F, Simd.V, 0);
                        FloatVector qh = (FloatVector) qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                                .convertShape(VectorOperators.I2F, Simd.V, 0);
                        int xi = xb + o + part * Simd.VL;
                        FloatVector xl = FloatVector.fromArray(Simd.V, x, xi);
                        FloatVector xh = FloatVector.fromArray(Simd.V, x, xi + 32);
                        sLo = ql.fma(xl, sLo);
                        sHi = qh.fma(xh, sHi);
                        xLo = xLo.add(xl);
                        xHi = xHi.add(xh);
                    }
                }
                // 6-bit scales and mins of sub-blocks 2c and 2c+1, unpacked in place: a call here (scale(),
                // min()) is not always inlined, and a call makes C2 spill every live vector register
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

    /**
     * {@link #dotGeneric} at 128 bits (4 float lanes): each 4 bytes of nibbles read as one int and widened
     * from their own vector, for the reason given at {@link Q5_0Format#dot128}.
     */
    static float dot128(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        FloatVector accMin = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            int head = Bits.i32(src, p);
            long lo = Bits.i64(src, p + 4);
            int hi = Bits.i32(src, p + 12);
            float d = Bits.halfOf(head, 0);
            float dmin = Bits.halfOf(head, 1);
            for (int c = 0; c < 4; c++) {
                FloatVector sLo = FloatVector.zero(Simd.V);
                FloatVector sHi = FloatVector.zero(Simd.V);
                FloatVector xLo = FloatVector.zero(Simd.V);
                FloatVector xHi = FloatVector.zero(Simd.V);
                int xb = xOffset + 256 * b + 64 * c;
                for (int o = 0; o < 32; o += Simd.VL) {
                    IntVector qi = (IntVector) IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, p + 16 + 32 * c + o))
                            .reinterpretAsBytes().convertShape(VectorOperators.B2I, Simd.VI, 0);
                    FloatVector ql = (FloatVector) qi.lanewise(VectorOperators.AND, LOW4_I)
                            .convertShape(VectorOperators.I2F, Simd.V, 0);
                    FloatVector qh = (FloatVector) qi.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, LOW4_I)
                            .convertShape(VectorOperators.I2F, Simd.V, 0);
                    FloatVector xl = FloatVector.fromArray(Simd.V, x, xb + o);
                    FloatVector xh = FloatVector.fromArray(Simd.V, x, xb + o + 32);
                    sLo = ql.fma(xl, sLo);
                    sHi = qh.fma(xh, sHi);
                    xLo = xLo.add(xl);
                    xHi = xHi.add(xh);
                }
                // 6-bit scales and mins of sub-blocks 2c and 2c+1, unpacked in place: a call here (scale(),
                // min()) is not always inlined, and a call makes C2 spill every live vector register
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
                    int q = Bits.u8(src, p + 16 + 32 * c + l);
                    float a = x[xb + 64 * c + l];
                    float h = x[xb + 64 * c + 32 + l];
                    sLo += (q & 15) * a;
                    sHi += (q >> 4) * h;
                    xLo += a;
                    xHi += h;
                }
                sum += d * (scale(src, p + 4, 2 * c) * sLo + scale(src, p + 4, 2 * c + 1) * sHi)
                        - dmin * (min(src, p + 4, 2 * c) * xLo + min(src, p + 4, 2 * c + 1) * xHi);
            }
        }
        return sum;
    }

    /** Scale k of the packed 12 bytes, given as bytes 0..7 ({@code lo}) and 8..11 ({@code hi}). */
    static int scale(long lo, int hi, int k) {
        return k < 4 ? Bits.byteOf(lo, k) & 63 : (Bits.byteOf(hi, k - 4) & 15) | (Bits.byteOf(lo, k - 4) >> 6) << 4;
    }

    /** Min k of the packed 12 bytes. */
    static int min(long lo, int hi, int k) {
        return k < 4 ? Bits.byteOf(lo, k + 4) & 63 : (Bits.byteOf(hi, k - 4) >> 4) | (Bits.byteOf(lo, k) >> 6) << 4;
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
            for (int j = 0; j < 8; j++) {
                // vector operations written out here rather than through Simd: see Simd (profiles)
                ByteVector q = ByteVector.fromMemorySegment(Simd.B2, src, p + 16 + 32 * (j >> 1), Simd.LE)
                        .reinterpretAsInts().lanewise(VectorOperators.LSHR, 4 * (j & 1))
                        .reinterpretAsBytes().lanewise(VectorOperators.AND, LOW4);
                int xi = xOffset + 256 * b + 32 * j;
                FloatVector x0 = Simd.x(x, xi);
                FloatVector x1 = Simd.x(x, xi + 16);
                FloatVector q0 = (FloatVector) q.convertShape(VectorOperators.B2F, Simd.F, 0);
                FloatVector q1 = (FloatVector) q.convertShape(VectorOperators.B2F, Simd.F, 1);
                FloatVector s = q1.fma(x1, q0.mul(x0));
                acc = s.fma(Simd.f(d * scale(lo, hi, j)), acc);
                accMin = x0.add(x1).fma(Simd.f(dmin * min(lo, hi, j)), accMin);
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

    @Override
    public boolean canQuantize() {
        return true;
    }

    /**
     * quantize_row_q4_K_ref (no importance matrix): per 32-element sub-block a weighted least-squares
     * scale/min search (weights av|x| + |x|), scales and mins quantized to 6 bits against the block maxima,
     * then every element re-quantized with the rounded scales.
     */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        Bits.checkRow(this, n);
        int[] levels = new int[256];
        int[] aux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        float[] theMin = new float[1];
        for (int b = 0; b < n / 256; b++) {
            int xb = srcOffset + 256 * b;
            long p = offset + (long) b * BLOCK;
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) {
                    sumX2 += src[xb + 32 * j + l] * src[xb + 32 * j + l];
                }
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) {
                    weights[l] = avX + Math.abs(src[xb + 32 * j + l]);
                }
                scales[j] = KQuants.makeQkx2(32, 15, src, xb + 32 * j, weights, levels, 32 * j, theMin, aux,
                        -1.f, 0.1f, 20, false);
                mins[j] = theMin[0];
                if (scales[j] > maxScale) {
                    maxScale = scales[j];
                }
                if (mins[j] > maxMin) {
                    maxMin = mins[j];
                }
            }
            float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
            float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
            int[] sc = new int[12];
            for (int j = 0; j < 8; j++) {
                int ls = Math.min(63, Bits.nearestInt(invScale * scales[j]) & 0xFF);
                int lm = Math.min(63, Bits.nearestInt(invMin * mins[j]) & 0xFF);
                if (j < 4) {
                    sc[j] = ls;
                    sc[j + 4] = lm;
                } else {
                    sc[j + 4] = (ls & 15) | ((lm & 15) << 4);
                    sc[j - 4] |= (ls >> 4) << 6;
                    sc[j] |= (lm >> 4) << 6;
                }
            }
            for (int j = 0; j < 12; j++) {
                Bits.putU8(dst, p + 4 + j, sc[j]);
            }
            Bits.putF16(dst, p, maxScale / 63.f);
            Bits.putF16(dst, p + 2, maxMin / 63.f);
            float dRounded = Bits.f16(dst, p);
            float dminRounded = Bits.f16(dst, p + 2);
            for (int j = 0; j < 8; j++) {
                float d = dRounded * scale(dst, p + 4, j);
                if (d == 0) {
                    continue;
                }
                float dm = dminRounded * min(dst, p + 4, j);
                for (int ii = 0; ii < 32; ii++) {
                    int l = Bits.nearestInt((src[xb + 32 * j + ii] + dm) / d);
                    levels[32 * j + ii] = Math.max(0, Math.min(15, l));
                }
            }
            for (int c = 0; c < 4; c++) {
                for (int l = 0; l < 32; l++) {
                    Bits.putU8(dst, p + 16 + 32 * c + l, levels[64 * c + l] | levels[64 * c + 32 + l] << 4);
                }
            }
        }
    }
}
