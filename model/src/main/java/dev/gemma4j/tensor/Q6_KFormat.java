package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Q6_K: 210-byte super-blocks of 256: ql[128] (low 4 bits), qh[64] (high 2 bits), sc:i8[16], d:f16.
 * Sub-block k (16 elements): y = d·sc[k]·(q6 − 32).
 */
final class Q6_KFormat implements TensorFormat {
    private static final int BLOCK = 210;
    private static final ByteVector LOW4 = ByteVector.broadcast(Simd.B2, (byte) 0x0F);
    private static final ByteVector HIGH2 = ByteVector.broadcast(Simd.B2, (byte) 0x30);
    private static final ByteVector OFFSET32 = ByteVector.broadcast(Simd.B2, (byte) 32);
    private static final IntVector LOW4_I = IntVector.broadcast(Simd.VI, 0x0F);
    private static final IntVector BITS45_I = IntVector.broadcast(Simd.VI, 0x30);
    private static final IntVector NIBBLES_I = IntVector.broadcast(Simd.VI, 0x0F0F0F0F);
    private static final IntVector HIGH2_I = IntVector.broadcast(Simd.VI, 0x30303030);
    private static final IntVector OFFSET32_I = IntVector.broadcast(Simd.VI, 32);

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
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
            float d = Bits.f16(src, p + 208);
            int o = dstOffset + 256 * b;
            for (int h = 0; h < 2; h++) {
                long ql = p + 64 * h;
                long qh = p + 128 + 32 * h;
                long sc = p + 192 + 8 * h;
                for (int l = 0; l < 32; l++) {
                    int g = l / 16;
                    int lo = Bits.u8(src, ql + l);
                    int lo32 = Bits.u8(src, ql + l + 32);
                    int hb = Bits.u8(src, qh + l);
                    int q0 = ((lo & 15) | (hb & 3) << 4) - 32;
                    int q1 = ((lo32 & 15) | ((hb >> 2) & 3) << 4) - 32;
                    int q2 = ((lo >> 4) | ((hb >> 4) & 3) << 4) - 32;
                    int q3 = ((lo32 >> 4) | ((hb >> 6) & 3) << 4) - 32;
                    dst[o + 128 * h + l] = d * Bits.i8(src, sc + g) * q0;
                    dst[o + 128 * h + l + 32] = d * Bits.i8(src, sc + g + 2) * q1;
                    dst[o + 128 * h + l + 64] = d * Bits.i8(src, sc + g + 4) * q2;
                    dst[o + 128 * h + l + 96] = d * Bits.i8(src, sc + g + 6) * q3;
                }
            }
        }
    }

    /** Same values as the scalar loop ((d·sc)·q), at any width (prefill hot path). */
    static void dequantizeGeneric(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            for (int h = 0; h < 2; h++) {
                long scales = src.get(Bits.LONG_LE, p + 192 + 8 * h);
                for (int k = 0; k < 4; k++) {
                    for (int g = 0; g < 2; g++) {
                        FloatVector scale = FloatVector.broadcast(Simd.V, d * (byte) (scales >>> (16 * k + 8 * g)));
                        for (int o = 16 * g; o < 16 * g + 16; o += Simd.VBL) {
                            ByteVector low = ByteVector.fromMemorySegment(Simd.VB, src, p + 64 * h + 32 * (k & 1) + o, Simd.LE);
                            ByteVector high = ByteVector.fromMemorySegment(Simd.VB, src, p + 128 + 32 * h + o, Simd.LE);
                            for (int part = 0; part < Simd.VP; part++) {
                                IntVector li = (IntVector) low.convertShape(VectorOperators.B2I, Simd.VI, part);
                                IntVector hi = (IntVector) high.convertShape(VectorOperators.B2I, Simd.VI, part);
                                IntVector q = li.lanewise(VectorOperators.LSHR, 4 * (k >> 1)).lanewise(VectorOperators.AND, LOW4_I)
                                        .lanewise(VectorOperators.OR, hi.lanewise(VectorOperators.LSHL, 4)
                                                .lanewise(VectorOperators.LSHR, 2 * k).lanewise(VectorOperators.AND, BITS45_I))
                                        .lanewise(VectorOperators.SUB, OFFSET32_I);
                                scale.mul((FloatVector) q.convertShape(VectorOperators.I2F, Simd.V, 0))
                                        .intoArray(dst, dstOffset + 256 * b + 128 * h + 32 * k + o + part * Simd.VL);
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        Bits.checkRow(this, n);
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n)
                : !Simd.VECTOR ? dotScalar(src, offset, x, xOffset, n)
                : Simd.VP == 2 ? dot128(src, offset, x, xOffset, n) : dotGeneric(src, offset, x, xOffset, n);
    }

    /**
     * {@link #dotGeneric} at 128 bits (4 float lanes): each 4 low-bit and 4 high-bit bytes read as one int
     * and widened from their own vector, for the reason given at {@link Q5_0Format#dot128}.
     */
    static float dot128(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            for (int h = 0; h < 2; h++) {
                long scales = src.get(Bits.LONG_LE, p + 192 + 8 * h);
                for (int k = 0; k < 4; k++) {
                    for (int g = 0; g < 2; g++) {
                        FloatVector sum = FloatVector.zero(Simd.V);
                        for (int o = 16 * g; o < 16 * g + 16; o += Simd.VL) {
                            IntVector li = (IntVector) IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, p + 64 * h + 32 * (k & 1) + o))
                                    .reinterpretAsBytes().convertShape(VectorOperators.B2I, Simd.VI, 0);
                            IntVector hi = (IntVector) IntVector.broadcast(Simd.VI, src.get(Bits.INT_LE, p + 128 + 32 * h + o))
                                    .reinterpretAsBytes().convertShape(VectorOperators.B2I, Simd.VI, 0);
                            IntVector q = li.lanewise(VectorOperators.LSHR, 4 * (k >> 1)).lanewise(VectorOperators.AND, LOW4_I)
                                    .lanewise(VectorOperators.OR, hi.lanewise(VectorOperators.LSHL, 4)
                                            .lanewise(VectorOperators.LSHR, 2 * k).lanewise(VectorOperators.AND, BITS45_I))
                                    .lanewise(VectorOperators.SUB, OFFSET32_I);
                            sum = ((FloatVector) q.convertShape(VectorOperators.I2F, Simd.V, 0))
                                    .fma(FloatVector.fromArray(Simd.V, x, xOffset + 256 * b + 128 * h + 32 * k + o), sum);
                        }
                        // signed scale byte 2k+g of this half
                        acc = sum.fma(FloatVector.broadcast(Simd.V, d * (byte) (scales >>> (16 * k + 8 * g))), acc);
                    }
                }
            }
        }
        return Simd.sum(acc);
    }

    /** Every vector width: 256 reordered activations and 16 group sums per block (see {@link #prepare}). */
    static final boolean PREPARED = Simd.VECTOR && !"false".equals(System.getProperty("gemma4j.prepared"));
    /**
     * The tiles (several activation rows, the batch-invariant server's rows, several sessions' LM head) use the
     * prepared order too ({@link #dequantizeTile}): decoding in the natural order costs three to four times
     * the one-row kernel's time per weight at 512 bits, so a step of two sessions took longer than two steps.
     */
    static final boolean TILE_ORDERED = PREPARED;
    private static final int PREPARED_BLOCK = 272;
    /** Lanes 4..7 of an 8-lane vector: where a 32-byte load's elements pass into the next 16-element group. */
    private static final VectorMask<Float> UPPER4 = VectorMask.fromLong(Simd.V, 0xF0L);

    @Override
    public int preparedSize(int n) {
        return PREPARED ? n / 256 * PREPARED_BLOCK : 0;
    }

    /**
     * The order {@link #dotPrepared} reads activations in: per block, half h, loads of {@code 4·VL} bytes at
     * offset o of ql[0..32), ql[32..64) and qh (VL int lanes each), then byte b of a lane and quarter k:
     * lane i is element {@code 128h + 32k + o + 4i + b}, times {@code 2^-8b}: the kernel takes the 6-bit value
     * of byte b where it lies in the lane ({@code q·2^8b}, masked, not shifted down), and the power of two
     * put in here gives back {@code q·x} exactly. Then the sums of the sixteen 16-element groups (one scale
     * each).
     */
    @Override
    public void prepare(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        if (Simd.VL == 16) {
            prepare512(x, xOffset, n, dst, dstOffset);
            return;
        }
        int vl = Simd.VL;
        for (int blk = 0; blk < n / 256; blk++) {
            int xb = xOffset + 256 * blk;
            int db = dstOffset + PREPARED_BLOCK * blk;
            int t = db;
            for (int h = 0; h < 2; h++) {
                for (int o = 0; o < 32; o += 4 * vl) {
                    for (int b = 0; b < 4; b++) {
                        float scale = 1f / (1 << (8 * b));
                        for (int k = 0; k < 4; k++) {
                            for (int i = 0; i < vl; i++) {
                                dst[t++] = x[xb + 128 * h + 32 * k + o + 4 * i + b] * scale;
                            }
                        }
                    }
                }
            }
            for (int g = 0; g < 16; g++) {
                float sum = 0;
                for (int i = 0; i < 16; i++) {
                    sum += x[xb + 16 * g + i];
                }
                dst[db + 256 + g] = sum;
            }
        }
    }

    @Override
    public boolean tileOrdered() {
        return TILE_ORDERED;
    }

    /** The order of the first 256 floats of each block of {@link #prepare} (without the group sums). */
    @Override
    public void permuteTile(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        if (!TILE_ORDERED) {
            System.arraycopy(x, xOffset, dst, dstOffset, n);
            return;
        }
        if (Simd.VL == 16) {
            permuteTile512(x, xOffset, n, dst, dstOffset);
            return;
        }
        int vl = Simd.VL;
        for (int blk = 0; blk < n / 256; blk++) {
            int xb = xOffset + 256 * blk;
            int t = dstOffset + 256 * blk;
            for (int h = 0; h < 2; h++) {
                for (int o = 0; o < 32; o += 4 * vl) {
                    for (int b = 0; b < 4; b++) {
                        for (int k = 0; k < 4; k++) {
                            for (int i = 0; i < vl; i++) {
                                dst[t++] = x[xb + 128 * h + 32 * k + o + 4 * i + b];
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The values of {@link #dequantize} ((d·sc)·(q − 32)) in {@link #permuteTile}'s order: ql and qh loaded as
     * VL int lanes as in {@link #dotPrepared}, each 6-bit value assembled by shifts and masks in int lanes.
     */
    @Override
    public void dequantizeTile(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Bits.checkRow(this, n);
        if (!TILE_ORDERED) {
            dequantize(src, offset, dst, dstOffset, n);
            return;
        }
        if (Simd.VL == 16) {
            dequantizeTile512(src, offset, dst, dstOffset, n);
            return;
        }
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            for (int h = 0; h < 2; h++) {
                long scales = src.get(Bits.LONG_LE, p + 192 + 8 * h);
                for (int o = 0; o < 32; o += 4 * Simd.VL) {
                    IntVector e = IntVector.fromMemorySegment(Simd.VI, src, p + 128 + 32 * h + o, Simd.LE);
                    int t = dstOffset + 256 * blk + 128 * h + 4 * o;
                    int g = o >> 4;
                    for (int k = 0; k < 4; k++) {
                        IntVector low = IntVector.fromMemorySegment(Simd.VI, src, p + 64 * h + 32 * (k & 1) + o, Simd.LE);
                        // d·sc of the group of lanes 0..3 and, at 256 bits, of lanes 4..7 (the next group)
                        float first = d * (byte) (scales >>> (16 * k + 8 * g));
                        float second = Simd.VL == 8 ? d * (byte) (scales >>> (16 * k + 8)) : first;
                        FloatVector sc = FloatVector.broadcast(Simd.V, first).blend(FloatVector.broadcast(Simd.V, second), UPPER4);
                        for (int b = 0; b < 4; b++) {
                            IntVector q = low.lanewise(VectorOperators.LSHR, 8 * b + 4 * (k >> 1)).lanewise(VectorOperators.AND, LOW4_I)
                                    .lanewise(VectorOperators.OR, e.lanewise(VectorOperators.LSHR, 8 * b + 2 * k)
                                            .lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.AND, BITS45_I))
                                    .lanewise(VectorOperators.SUB, OFFSET32_I);
                            sc.mul((FloatVector) q.convertShape(VectorOperators.I2F, Simd.V, 0)).intoArray(dst, t + (4 * b + k) * Simd.VL);
                        }
                    }
                }
            }
        }
    }

    /**
     * 128/256 bits, activations from {@link #prepare}: ql[l], ql[l+32] and qh[l] loaded as VL int lanes
     * ({@code 4·VL} bytes each); every byte b of a lane gives the four 6-bit values of elements l, l+32,
     * l+64, l+96 by shifts and masks in int lanes, without widening bytes. The −32 offset is applied once per
     * group from the prepared sums ({@code 32·d·Σ sc_g·Σx_g}) in scalar code. At 256 bits one load spans two
     * 16-element groups, so the scale vector takes its upper four lanes from the next group.
     */
    @Override
    public float dotPrepared(MemorySegment src, long offset, float[] px, int pxOffset, int n) {
        return Simd.VL == 16 ? dotPrepared512(src, offset, px, pxOffset, n) : dotPrepared256(src, offset, px, pxOffset, n);
    }

    /**
     * The 512-bit order: per block, half h, nibble m (low, high) and byte b of an int lane, 16 lanes i: the
     * ql load of half h is 64 bytes, lanes 0..7 from ql[64h .. 64h+32) (quarter k = 2m), lanes 8..15 from
     * ql[64h+32 .. 64h+64) (quarter 2m+1), so lane i is element {@code 128h + 32k + 4·(i%8) + b}, times
     * {@code 2^-8b} (see {@link #dotPrepared512}). Then 32 times the sums of the sixteen 16-element groups.
     */
    private static void prepare512(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        for (int blk = 0; blk < n / 256; blk++) {
            int xb = xOffset + 256 * blk;
            int db = dstOffset + PREPARED_BLOCK * blk;
            int t = db;
            for (int h = 0; h < 2; h++) {
                for (int m = 0; m < 2; m++) {
                    for (int b = 0; b < 4; b++) {
                        float scale = 1f / (1 << (8 * b));
                        for (int i = 0; i < 16; i++) {
                            int k = 2 * m + (i >> 3);
                            dst[t++] = x[xb + 128 * h + 32 * k + 4 * (i & 7) + b] * scale;
                        }
                    }
                }
            }
            for (int g = 0; g < 16; g++) {
                float sum = 0;
                for (int i = 0; i < 16; i++) {
                    sum += x[xb + 16 * g + i];
                }
                dst[db + 256 + g] = 32 * sum;
            }
        }
    }

    /** {@link #prepare512}'s order without the powers of two: the 512-bit tile order. */
    private static void permuteTile512(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        for (int blk = 0; blk < n / 256; blk++) {
            int xb = xOffset + 256 * blk;
            int t = dstOffset + 256 * blk;
            for (int h = 0; h < 2; h++) {
                for (int m = 0; m < 2; m++) {
                    for (int b = 0; b < 4; b++) {
                        for (int i = 0; i < 16; i++) {
                            dst[t++] = x[xb + 128 * h + 32 * (2 * m + (i >> 3)) + 4 * (i & 7) + b];
                        }
                    }
                }
            }
        }
    }

    /** {@code 2^-8b}, b = 0..3: brings a value taken where it lies in byte b of an int lane back to its size. */
    private static final float[] BYTE_WEIGHT = {1f, 1f / (1 << 8), 1f / (1 << 16), 1f / (1 << 24)};

    /**
     * The values of {@link #dequantize} ({@code (d·sc)·(q − 32)}) in {@link #permuteTile512}'s order, unpacked as
     * {@link #dotPrepared512} does: the 6-bit value of byte b stays in place ({@code (q − 32)·2^8b}, exact in
     * an int lane) and its group's {@code d·sc·2^-8b} (a power of two apart, so the product rounds as
     * {@code (d·sc)·(q − 32)} does) scales it. Half the operations per weight of the natural order's widening.
     */
    private static void dequantizeTile512(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            FloatVector sc = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_128, src, p + 192, Simd.LE)
                    .convertShape(VectorOperators.B2F, Simd.V, 0)).mul(d);
            for (int h = 0; h < 2; h++) {
                IntVector ql = IntVector.fromMemorySegment(Simd.VI, src, p + 64 * h, Simd.LE);
                IntVector qh = ((IntVector) IntVector.fromMemorySegment(IntVector.SPECIES_256, src, p + 128 + 32 * h, Simd.LE)
                        .reinterpretShape(Simd.VI, 0)).rearrange(TWICE).lanewise(VectorOperators.LSHR, QH_SHIFT);
                for (int m = 0; m < 2; m++) {
                    IntVector v = (m == 0 ? ql : ql.lanewise(VectorOperators.LSHR, 4)).lanewise(VectorOperators.AND, NIBBLES_I)
                            .lanewise(VectorOperators.OR, (m == 0 ? qh.lanewise(VectorOperators.LSHL, 4) : qh).lanewise(VectorOperators.AND, HIGH2_I));
                    FloatVector lanes = sc.rearrange(SCALE_OF_LANES[2 * h + m]);
                    int t = dstOffset + 256 * blk + 128 * h + 64 * m;
                    for (int b = 0; b < 4; b++) {
                        FloatVector q = (FloatVector) v.lanewise(VectorOperators.AND, 0x3F << 8 * b).lanewise(VectorOperators.SUB, 32 << 8 * b)
                                .convertShape(VectorOperators.I2F, Simd.V, 0);
                        q.mul(lanes.mul(BYTE_WEIGHT[b])).intoArray(dst, t + 16 * b);
                    }
                }
            }
        }
    }

    /**
     * {@link #dequantizeTile512}'s values dotted with one or two activation rows as they are made (see
     * {@link TensorFormat#dotTile}): each weight vector is used by every row from its register instead of being
     * stored to a tile and loaded back once per row.
     */
    @Override
    public boolean dotTile(MemorySegment src, long offset, float[] x, int xOffset, int rows, float[] y, int yOffset, int yStride, int n,
            float[] scratch) {
        if (!TILE_ORDERED || Simd.VL != 16) {
            return false;
        }
        Bits.checkRow(this, n);
        // a second row that is absent reads row 0 again; its sum is not stored
        int x1 = rows > 1 ? xOffset + n : xOffset;
        boolean many = rows > 1;
        FloatVector a0 = FloatVector.zero(Simd.V);
        FloatVector a1 = FloatVector.zero(Simd.V);
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            FloatVector sc = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_128, src, p + 192, Simd.LE)
                    .convertShape(VectorOperators.B2F, Simd.V, 0)).mul(d);
            for (int h = 0; h < 2; h++) {
                IntVector ql = IntVector.fromMemorySegment(Simd.VI, src, p + 64 * h, Simd.LE);
                IntVector qh = ((IntVector) IntVector.fromMemorySegment(IntVector.SPECIES_256, src, p + 128 + 32 * h, Simd.LE)
                        .reinterpretShape(Simd.VI, 0)).rearrange(TWICE).lanewise(VectorOperators.LSHR, QH_SHIFT);
                for (int m = 0; m < 2; m++) {
                    IntVector v = (m == 0 ? ql : ql.lanewise(VectorOperators.LSHR, 4)).lanewise(VectorOperators.AND, NIBBLES_I)
                            .lanewise(VectorOperators.OR, (m == 0 ? qh.lanewise(VectorOperators.LSHL, 4) : qh).lanewise(VectorOperators.AND, HIGH2_I));
                    FloatVector lanes = sc.rearrange(SCALE_OF_LANES[2 * h + m]);
                    int t = 256 * blk + 128 * h + 64 * m;
                    for (int b = 0; b < 4; b++) {
                        FloatVector w = ((FloatVector) v.lanewise(VectorOperators.AND, 0x3F << 8 * b).lanewise(VectorOperators.SUB, 32 << 8 * b)
                                .convertShape(VectorOperators.I2F, Simd.V, 0)).mul(lanes.mul(BYTE_WEIGHT[b]));
                        int i = t + 16 * b;
                        a0 = w.fma(FloatVector.fromArray(Simd.V, x, xOffset + i), a0);
                        if (many) {
                            a1 = w.fma(FloatVector.fromArray(Simd.V, x, x1 + i), a1);
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

    /** qh bits 2k, 2k+1 of quarter k: the upper eight lanes (odd quarters) shifted down by two first. */
    private static final IntVector QH_SHIFT = IntVector.fromArray(Simd.VI, new int[] {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2}, 0);
    /** The 32 qh bytes of a half (eight int lanes) in both halves of a 16-lane vector. */
    private static final VectorShuffle<Integer> TWICE = Simd.VL == 16
            ? VectorShuffle.fromArray(Simd.VI, new int[] {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7}, 0) : null;
    /**
     * For half h and nibble m ({@code 2h + m}): lane i of the ql vector lies in quarter {@code 2m + i/8} at
     * {@code l = 4·(i%8) + b}, group {@code 8h + 2·quarter + l/16} = {@code 8h + 4m + i/4}: the shuffle that
     * takes those groups' {@code d·sc} from the block's scale vector.
     */
    private static final VectorShuffle<Float>[] SCALE_OF_LANES = Simd.shuffles512(4, (hm, i) -> 8 * (hm >> 1) + 4 * (hm & 1) + i / 4);

    /**
     * 512 bits, activations from {@link #prepare512}: per half one 64-byte ql load (16 int lanes: two
     * quarters) and its 32 qh bytes loaded once and put in both halves of the vector; each byte of a lane
     * then holds a 6-bit value (ql nibble and two qh bits assembled in place), taken where it lies
     * ({@code q·2^8b}, the {@code 2^-8b} is in the activations). The block's sixteen scales are one vector
     * ({@code d·sc}, converted once); each group of four lanes takes its scale by one lane shuffle, and the
     * −32 offset is one multiply-add with the prepared sums. No scalar float work per group.
     */
    static float dotPrepared512(MemorySegment src, long offset, float[] px, int pxOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        FloatVector accOffset = FloatVector.zero(Simd.V);
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            FloatVector sc = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_128, src, p + 192, Simd.LE)
                    .convertShape(VectorOperators.B2F, Simd.V, 0)).mul(d);
            int pb = pxOffset + PREPARED_BLOCK * blk;
            accOffset = sc.fma(FloatVector.fromArray(Simd.V, px, pb + 256), accOffset);
            for (int h = 0; h < 2; h++) {
                IntVector ql = IntVector.fromMemorySegment(Simd.VI, src, p + 64 * h, Simd.LE);
                IntVector qh = ((IntVector) IntVector.fromMemorySegment(IntVector.SPECIES_256, src, p + 128 + 32 * h, Simd.LE)
                        .reinterpretShape(Simd.VI, 0)).rearrange(TWICE).lanewise(VectorOperators.LSHR, QH_SHIFT);
                for (int m = 0; m < 2; m++) {
                    // the 6-bit values of quarters 2m (lanes 0..7) and 2m+1 (lanes 8..15), one per byte
                    IntVector v = (m == 0 ? ql : ql.lanewise(VectorOperators.LSHR, 4)).lanewise(VectorOperators.AND, NIBBLES_I)
                            .lanewise(VectorOperators.OR, (m == 0 ? qh.lanewise(VectorOperators.LSHL, 4) : qh).lanewise(VectorOperators.AND, HIGH2_I));
                    int xi = pb + 128 * h + 64 * m;
                    FloatVector s0 = FloatVector.zero(Simd.V);
                    FloatVector s1 = FloatVector.zero(Simd.V);
                    for (int b = 0; b < 4; b++) {
                        FloatVector q = (FloatVector) v.lanewise(VectorOperators.AND, IntVector.broadcast(Simd.VI, 0x3F << 8 * b))
                                .convertShape(VectorOperators.I2F, Simd.V, 0);
                        if ((b & 1) == 0) {
                            s0 = q.fma(FloatVector.fromArray(Simd.V, px, xi + 16 * b), s0);
                        } else {
                            s1 = q.fma(FloatVector.fromArray(Simd.V, px, xi + 16 * b), s1);
                        }
                    }
                    acc = s0.add(s1).fma(sc.rearrange(SCALE_OF_LANES[2 * h + m]), acc);
                }
            }
        }
        return Simd.sum(acc) - Simd.sum(accOffset);
    }

    static float dotPrepared256(MemorySegment src, long offset, float[] px, int pxOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        float offsetSum = 0;
        for (int blk = 0; blk < n / 256; blk++) {
            long p = offset + (long) blk * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            int pb = pxOffset + PREPARED_BLOCK * blk;
            for (int h = 0; h < 2; h++) {
                long scales = src.get(Bits.LONG_LE, p + 192 + 8 * h);
                for (int o = 0; o < 32; o += 4 * Simd.VL) {
                    IntVector e = IntVector.fromMemorySegment(Simd.VI, src, p + 128 + 32 * h + o, Simd.LE);
                    int xi = pb + 128 * h + 4 * o;
                    int g = o >> 4;
                    int gs = pb + 256 + 8 * h + g;
                    // quarter k: low nibbles of ql[l] (k even) or ql[l+32] (k odd), low (k < 2) or high nibble,
                    // bits 2k, 2k+1 of qh[l]; byte b of each int lane. One copy of the vector code in loops C2
                    // unrolls after parsing (keeps the parse within C2's node budget: KernelAllocationTest).
                    for (int k = 0; k < 4; k++) {
                        IntVector low = IntVector.fromMemorySegment(Simd.VI, src, p + 64 * h + 32 * (k & 1) + o, Simd.LE);
                        // the four 6-bit values of quarter k in place, one per byte: the ql nibble in bits 0..3 of
                        // the byte, qh bits 2k and 2k+1 of the same byte moved to bits 4 and 5
                        IntVector v = (k < 2 ? low : low.lanewise(VectorOperators.LSHR, 4)).lanewise(VectorOperators.AND, NIBBLES_I)
                                .lanewise(VectorOperators.OR, (k < 3 ? e.lanewise(VectorOperators.LSHL, 4 - 2 * k) : e.lanewise(VectorOperators.LSHR, 2))
                                        .lanewise(VectorOperators.AND, HIGH2_I));
                        FloatVector sum = FloatVector.zero(Simd.V);
                        for (int b = 0; b < 4; b++) {
                            FloatVector q = (FloatVector) v.lanewise(VectorOperators.AND, IntVector.broadcast(Simd.VI, 0x3F << 8 * b))
                                    .convertShape(VectorOperators.I2F, Simd.V, 0);
                            sum = q.fma(FloatVector.fromArray(Simd.V, px, xi + (4 * b + k) * Simd.VL), sum);
                        }
                        // d·sc of the group of lanes 0..3 and, at 256 bits, of lanes 4..7 (the next group)
                        float first = d * (byte) (scales >>> (16 * k + 8 * g));
                        float second = Simd.VL == 8 ? d * (byte) (scales >>> (16 * k + 8)) : first;
                        acc = sum.fma(FloatVector.broadcast(Simd.V, first).blend(FloatVector.broadcast(Simd.V, second), UPPER4), acc);
                        offsetSum += first * px[gs + 2 * k] + (Simd.VL == 8 ? second * px[gs + 2 * k + 1] : 0f);
                    }
                }
            }
        }
        return Simd.sum(acc) - 32 * offsetSum;
    }

    /**
     * Any width ({@link Simd#V}), natural activation order (the engine uses {@link #dotPrepared} at 128/256
     * bits). Per half, quarter and 16-element group: the low-bit bytes and the high-bit bytes,
     * {@link Simd#VBL} at a time, widened to ints; the 6-bit values assembled in int lanes, converted, summed;
     * then the group's {@code d·sc} by one multiply-add. Scales unpacked in place (a call would spill the
     * vector registers; see Simd).
     */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.V);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Float.float16ToFloat(src.get(Bits.SHORT_LE, p + 208));
            for (int h = 0; h < 2; h++) {
                long scales = src.get(Bits.LONG_LE, p + 192 + 8 * h);
                // quarter k (elements 32k..32k+31 of the half): low nibbles of ql[l] (k even) or ql[l+32] (k odd),
                // the low (k < 2) or high nibble, bits 2k, 2k+1 of qh[l]; 16-element group g has one scale.
                // One copy of the vector code in loops C2 unrolls after parsing (see Simd: node budget).
                for (int k = 0; k < 4; k++) {
                    for (int g = 0; g < 2; g++) {
                        FloatVector sum = FloatVector.zero(Simd.V);
                        for (int o = 16 * g; o < 16 * g + 16; o += Simd.VBL) {
                            ByteVector low = ByteVector.fromMemorySegment(Simd.VB, src, p + 64 * h + 32 * (k & 1) + o, Simd.LE);
                            ByteVector high = ByteVector.fromMemorySegment(Simd.VB, src, p + 128 + 32 * h + o, Simd.LE);
                            for (int part = 0; part < Simd.VP; part++) {
                                IntVector li = (IntVector) low.convertShape(VectorOperators.B2I, Simd.VI, part);
                                IntVector hi = (IntVector) high.convertShape(VectorOperators.B2I, Simd.VI, part);
                                IntVector q = li.lanewise(VectorOperators.LSHR, 4 * (k >> 1)).lanewise(VectorOperators.AND, LOW4_I)
                                        .lanewise(VectorOperators.OR, hi.lanewise(VectorOperators.LSHL, 4)
                                                .lanewise(VectorOperators.LSHR, 2 * k).lanewise(VectorOperators.AND, BITS45_I))
                                        .lanewise(VectorOperators.SUB, OFFSET32_I);
                                sum = ((FloatVector) q.convertShape(VectorOperators.I2F, Simd.V, 0))
                                        .fma(FloatVector.fromArray(Simd.V, x, xOffset + 256 * b + 128 * h + 32 * k + o + part * Simd.VL), sum);
                            }
                        }
                        // signed scale byte 2k+g of this half
                        acc = sum.fma(FloatVector.broadcast(Simd.V, d * (byte) (scales >>> (16 * k + 8 * g))), acc);
                    }
                }
            }
        }
        return Simd.sum(acc);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p + 208);
            int xb = xOffset + 256 * b;
            for (int h = 0; h < 2; h++) {
                long ql = p + 64 * h;
                long qh = p + 128 + 32 * h;
                long sc = p + 192 + 8 * h;
                for (int g = 0; g < 2; g++) {
                    float s0 = 0;
                    float s1 = 0;
                    float s2 = 0;
                    float s3 = 0;
                    for (int l = 16 * g; l < 16 * g + 16; l++) {
                        int lo = Bits.u8(src, ql + l);
                        int lo32 = Bits.u8(src, ql + l + 32);
                        int hb = Bits.u8(src, qh + l);
                        int xi = xb + 128 * h + l;
                        s0 += (((lo & 15) | (hb & 3) << 4) - 32) * x[xi];
                        s1 += (((lo32 & 15) | ((hb >> 2) & 3) << 4) - 32) * x[xi + 32];
                        s2 += (((lo >> 4) | ((hb >> 4) & 3) << 4) - 32) * x[xi + 64];
                        s3 += (((lo32 >> 4) | ((hb >> 6) & 3) << 4) - 32) * x[xi + 96];
                    }
                    sum += d * (Bits.i8(src, sc + g) * s0 + Bits.i8(src, sc + g + 2) * s1
                            + Bits.i8(src, sc + g + 4) * s2 + Bits.i8(src, sc + g + 6) * s3);
                }
            }
        }
        return sum;
    }

    /** Signed scale byte {@code i} (0..7) of a little-endian word. */
    private static int sc(long word, int i) {
        return (byte) (word >>> (8 * i));
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / 256; b++) {
            long p = offset + (long) b * BLOCK;
            float d = Bits.f16(src, p + 208);
            long sc0 = Bits.i64(src, p + 192);
            long sc1 = Bits.i64(src, p + 200);
            // 8 groups of 32 outputs: half h, quarter k (which nibble of ql, which 2 bits of qh)
            for (int i = 0; i < 8; i++) {
                int h = i >> 2;
                int k = i & 3;
                // vector operations written out here rather than through Simd: see Simd (profiles)
                ByteVector low = ByteVector.fromMemorySegment(Simd.B2, src, p + 64 * h + 32 * (k & 1), Simd.LE);
                ByteVector high = ByteVector.fromMemorySegment(Simd.B2, src, p + 128 + 32 * h, Simd.LE);
                ByteVector lowBits = low.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4 * (k >> 1))
                        .reinterpretAsBytes().lanewise(VectorOperators.AND, LOW4);
                ByteVector highBits = high.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * k)
                        .lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().lanewise(VectorOperators.AND, HIGH2);
                ByteVector q = lowBits.lanewise(VectorOperators.OR, highBits).lanewise(VectorOperators.SUB, OFFSET32);
                long scales = h == 0 ? sc0 : sc1;
                int xi = xOffset + 256 * b + 128 * h + 32 * k;
                FloatVector q0 = (FloatVector) q.convertShape(VectorOperators.B2F, Simd.F, 0);
                FloatVector q1 = (FloatVector) q.convertShape(VectorOperators.B2F, Simd.F, 1);
                acc = q0.mul(Simd.x(x, xi)).fma(Simd.f(d * sc(scales, 2 * k)), acc);
                acc = q1.mul(Simd.x(x, xi + 16)).fma(Simd.f(d * sc(scales, 2 * k + 1)), acc);
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

    @Override
    public boolean canQuantize() {
        return true;
    }

    /**
     * quantize_row_q6_K_ref: a symmetric scale search per 16 elements (weights x²), the 16 scales
     * quantized to i8 against the largest, elements re-quantized with the rounded scales.
     */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        Bits.checkRow(this, n);
        int[] levels = new int[256];
        float[] scales = new float[16];
        for (int b = 0; b < n / 256; b++) {
            int xb = srcOffset + 256 * b;
            long p = offset + (long) b * BLOCK;
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++) {
                float scale = KQuants.makeQx(16, 32, src, xb + 16 * ib, levels, 16 * ib);
                scales[ib] = scale;
                float abs = Math.abs(scale);
                if (abs > maxAbsScale) {
                    maxAbsScale = abs;
                    maxScale = scale;
                }
            }
            if (maxAbsScale < KQuants.GROUP_MAX_EPS) {
                dst.asSlice(p, BLOCK).fill((byte) 0);
                continue;
            }
            float iscale = -128.f / maxScale;
            Bits.putF16(dst, p + 208, 1 / iscale);
            for (int ib = 0; ib < 16; ib++) {
                Bits.putU8(dst, p + 192 + ib, Math.min(127, Bits.nearestInt(iscale * scales[ib])));
            }
            float dRounded = Bits.f16(dst, p + 208);
            for (int j = 0; j < 16; j++) {
                float d = dRounded * Bits.i8(dst, p + 192 + j);
                if (d == 0) {
                    continue;
                }
                for (int ii = 0; ii < 16; ii++) {
                    int l = Bits.nearestInt(src[xb + 16 * j + ii] / d);
                    levels[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
                }
            }
            for (int h = 0; h < 2; h++) {
                int j = 128 * h;
                for (int l = 0; l < 32; l++) {
                    int q1 = levels[j + l] & 15;
                    int q2 = levels[j + l + 32] & 15;
                    int q3 = levels[j + l + 64] & 15;
                    int q4 = levels[j + l + 96] & 15;
                    Bits.putU8(dst, p + 64 * h + l, q1 | q3 << 4);
                    Bits.putU8(dst, p + 64 * h + l + 32, q2 | q4 << 4);
                    Bits.putU8(dst, p + 128 + 32 * h + l, (levels[j + l] >> 4) | (levels[j + l + 32] >> 4) << 2
                            | (levels[j + l + 64] >> 4) << 4 | (levels[j + l + 96] >> 4) << 6);
                }
            }
        }
    }
}
