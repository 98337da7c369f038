package dev.gemma4j.cpu;

import dev.gemma4j.engine.KvCacheType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
