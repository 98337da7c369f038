package dev.gemma4j.cpu;

import dev.gemma4j.engine.KvCacheType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Keys (after norm and RoPE) and values (after the unweighted norm) of one layer of one session, per
 * position and KV head. A global layer keeps every position of the context; a sliding layer keeps only
 * what its window can still see: a ring of {@code window + chunk − 1} slots, enough for a whole prefill
 * chunk to be stored before its first query reads the oldest key it needs.
 */
final class LayerKvCache {
    private final int capacity;
    private final boolean ring;
    private final int headDim;
    private final int rowWidth;
    private final float[] k32;
    private final float[] v32;
    private final short[] k16;
    private final short[] v16;

    LayerKvCache(int capacity, boolean ring, int kvHeads, int headDim, KvCacheType type) {
        this.capacity = capacity;
        this.ring = ring;
        this.headDim = headDim;
        this.rowWidth = kvHeads * headDim;
        long size = (long) capacity * rowWidth;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache of " + capacity + " positions × " + rowWidth
                + " values is too large for one layer; use a shorter context length");
        }
        if (type == KvCacheType.F32) {
            k32 = new float[(int) size];
            v32 = new float[(int) size];
            k16 = null;
            v16 = null;
        } else {
            k16 = new short[(int) size];
            v16 = new short[(int) size];
            k32 = null;
            v32 = null;
        }
    }

    static long bytesFor(int capacity, int kvHeads, int headDim, KvCacheType type) {
        return 2L * capacity * kvHeads * headDim * (type == KvCacheType.F32 ? 4 : 2);
    }

    private int base(int pos) {
        return (ring ? pos % capacity : pos) * rowWidth;
    }

    /** Stores the K and V rows ({@code kvHeads·headDim} values each) of position {@code pos}. */
    void store(int pos, float[] k, int ko, float[] v, int vo) {
        int b = base(pos);
        if (k32 != null) {
            System.arraycopy(k, ko, k32, b, rowWidth);
            System.arraycopy(v, vo, v32, b, rowWidth);
        } else {
            for (int i = 0; i < rowWidth; i++) {
                k16[b + i] = Float.floatToFloat16(k[ko + i]);
                v16[b + i] = Float.floatToFloat16(v[vo + i]);
            }
        }
    }

    /** Positions held (the ring's length on a ring). */
    int capacity() {
        return capacity;
    }

    /** Whether positions wrap around ({@code pos % capacity}). */
    boolean ring() {
        return ring;
    }

    /** Bytes {@link #save} writes per position (a K row and a V row). */
    long positionBytes() {
        return 2L * rowWidth * (k32 != null ? Float.BYTES : Short.BYTES);
    }

    /** Copies the K and V rows of positions {@code [from, to)} to {@code dst} from {@code offset}, as stored. */
    void save(int from, int to, MemorySegment dst, long offset) {
        long o = offset;
        for (int p = from; p < to; p++) {
            int b = base(p);
            if (k32 != null) {
                MemorySegment.copy(k32, b, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, o, rowWidth);
                MemorySegment.copy(v32, b, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, o + (long) rowWidth * Float.BYTES, rowWidth);
            } else {
                MemorySegment.copy(k16, b, dst, ValueLayout.JAVA_SHORT_UNALIGNED, o, rowWidth);
                MemorySegment.copy(v16, b, dst, ValueLayout.JAVA_SHORT_UNALIGNED, o + (long) rowWidth * Short.BYTES, rowWidth);
            }
            o += positionBytes();
        }
    }

    /** The inverse of {@link #save}: puts positions {@code [from, to)} back where {@link #store} keeps them. */
    void load(int from, int to, MemorySegment src, long offset) {
        long o = offset;
        for (int p = from; p < to; p++) {
            int b = base(p);
            if (k32 != null) {
                MemorySegment.copy(src, ValueLayout.JAVA_FLOAT_UNALIGNED, o, k32, b, rowWidth);
                MemorySegment.copy(src, ValueLayout.JAVA_FLOAT_UNALIGNED, o + (long) rowWidth * Float.BYTES, v32, b, rowWidth);
            } else {
                MemorySegment.copy(src, ValueLayout.JAVA_SHORT_UNALIGNED, o, k16, b, rowWidth);
                MemorySegment.copy(src, ValueLayout.JAVA_SHORT_UNALIGNED, o + (long) rowWidth * Short.BYTES, v16, b, rowWidth);
            }
            o += positionBytes();
        }
    }

    /** {@code q · K[pos][head]}. */
    float dotKey(int pos, int head, float[] q, int qo) {
        int b = base(pos) + head * headDim;
        if (k32 != null) {
            return VectorMath.dot(k32, b, q, qo, headDim);
        }
        // as llama.cpp with an f16 cache: the query is rounded to f16 too
        float s = 0;
        for (int i = 0; i < headDim; i++) {
            s += Float.float16ToFloat(k16[b + i]) * Float.float16ToFloat(Float.floatToFloat16(q[qo + i]));
        }
        return s;
    }

    /**
     * {@code scores[so + p − first] = q · K[p][head]} for every p in {@code [first, last]}, each exactly as
     * {@link #dotKey} computes it (with an f32 cache four positions at a time, {@link VectorMath#dot4}).
     */
    void dotKeys(int first, int last, int head, float[] q, int qo, float[] scores, int so) {
        int p = first;
        if (k32 != null) {
            int ho = head * headDim;
            for (; p + 3 <= last; p += 4) {
                VectorMath.dot4(k32, base(p) + ho, base(p + 1) + ho, base(p + 2) + ho, base(p + 3) + ho, q, qo, headDim,
                    scores, so + p - first);
            }
        }
        for (; p <= last; p++) {
            scores[so + p - first] = dotKey(p, head, q, qo);
        }
    }

    /**
     * {@code out += Σ (w[wo + p − first]·scale) · V[p][head]} over p in {@code [first, last]}, each element summed
     * in position order exactly as a sequence of {@link #addValue} calls sums it (the same fused multiply-add
     * per position; the scalar tail multiplies, then adds), but with an f32 cache the running sums of a block of
     * eight vectors stay in registers across the positions instead of being loaded and stored per position.
     */
    void addValues(int first, int last, int head, float[] w, int wo, float scale, float[] out, int oo) {
        if (v32 == null) {
            for (int p = first; p <= last; p++) {
                addValue(p, head, w[wo + p - first] * scale, out, oo);
            }
            return;
        }
        VectorSpecies<Float> f = VectorMath.F;
        int step = f.length();
        int upper = f.loopBound(headDim);
        int ho = head * headDim;
        int i = 0;
        for (; i + 8 * step <= upper; i += 8 * step) {
            int o = oo + i;
            FloatVector a0 = FloatVector.fromArray(f, out, o), a1 = FloatVector.fromArray(f, out, o + step);
            FloatVector a2 = FloatVector.fromArray(f, out, o + 2 * step), a3 = FloatVector.fromArray(f, out, o + 3 * step);
            FloatVector a4 = FloatVector.fromArray(f, out, o + 4 * step), a5 = FloatVector.fromArray(f, out, o + 5 * step);
            FloatVector a6 = FloatVector.fromArray(f, out, o + 6 * step), a7 = FloatVector.fromArray(f, out, o + 7 * step);
            for (int p = first; p <= last; p++) {
                FloatVector wv = FloatVector.broadcast(f, w[wo + p - first] * scale);
                int b = base(p) + ho + i;
                a0 = FloatVector.fromArray(f, v32, b).fma(wv, a0);
                a1 = FloatVector.fromArray(f, v32, b + step).fma(wv, a1);
                a2 = FloatVector.fromArray(f, v32, b + 2 * step).fma(wv, a2);
                a3 = FloatVector.fromArray(f, v32, b + 3 * step).fma(wv, a3);
                a4 = FloatVector.fromArray(f, v32, b + 4 * step).fma(wv, a4);
                a5 = FloatVector.fromArray(f, v32, b + 5 * step).fma(wv, a5);
                a6 = FloatVector.fromArray(f, v32, b + 6 * step).fma(wv, a6);
                a7 = FloatVector.fromArray(f, v32, b + 7 * step).fma(wv, a7);
            }
            a0.intoArray(out, o);
            a1.intoArray(out, o + step);
            a2.intoArray(out, o + 2 * step);
            a3.intoArray(out, o + 3 * step);
            a4.intoArray(out, o + 4 * step);
            a5.intoArray(out, o + 5 * step);
            a6.intoArray(out, o + 6 * step);
            a7.intoArray(out, o + 7 * step);
        }
        for (; i < upper; i += step) {
            FloatVector a0 = FloatVector.fromArray(f, out, oo + i);
            for (int p = first; p <= last; p++) {
                a0 = FloatVector.fromArray(f, v32, base(p) + ho + i).fma(FloatVector.broadcast(f, w[wo + p - first] * scale), a0);
            }
            a0.intoArray(out, oo + i);
        }
        for (; i < headDim; i++) {
            float s = out[oo + i];
            for (int p = first; p <= last; p++) {
                s += w[wo + p - first] * scale * v32[base(p) + ho + i];
            }
            out[oo + i] = s;
        }
    }

    /** {@code out += weight · V[pos][head]}. */
    void addValue(int pos, int head, float weight, float[] out, int oo) {
        int b = base(pos) + head * headDim;
        if (v32 != null) {
            VectorMath.axpy(weight, v32, b, out, oo, headDim);
            return;
        }
        float w16 = Float.float16ToFloat(Float.floatToFloat16(weight));
        for (int i = 0; i < headDim; i++) {
            out[oo + i] += w16 * Float.float16ToFloat(v16[b + i]);
        }
    }
}
