package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The arithmetic of one ggml weight format: how a row of blocks decodes to floats, how it is dotted
 * with a float vector (the hot path of CPU decoding), and, for the formats the writer produces, how
 * floats are encoded. Rows are addressed as a byte offset into a segment (usually a memory-mapped file).
 * Implementations are stateless and thread-safe.
 */
public interface TensorFormat {

    GgmlType type();

    default int blockElements() {
        return type().blockElements();
    }

    default int blockBytes() {
        return type().blockBytes();
    }

    /** Bytes of a row of {@code n} elements. */
    default long rowBytes(int n) {
        return type().rowBytes(n);
    }

    /** Decodes {@code n} elements (a multiple of the block size) starting at {@code offset} into {@code dst}. */
    void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n);

    /** {@code Σ row[i]·x[xOffset+i]} for the {@code n}-element row at {@code offset}. */
    float dot(MemorySegment src, long offset, float[] x, int xOffset, int n);

    /**
     * Floats of the prepared form of an {@code n}-element activation row for {@link #dotPrepared}, or 0 when
     * this format (at this JVM's vector width) has none and callers use {@link #dot}. A prepared row is the
     * activations reordered to match how the kernel unpacks a weight block, plus per-sub-block sums: made
     * once per matrix-vector product, it lets every row's kernel load whole blocks and skip work that
     * depends only on the activations.
     */
    default int preparedSize(int n) {
        return 0;
    }

    /** Writes the prepared form of {@code x[xOffset .. xOffset+n)} to {@code dst} at {@code dstOffset}. */
    default void prepare(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        throw new UnsupportedOperationException(type() + " has no prepared activations");
    }

    /**
     * {@code Σ row[i]·x[i]} with {@code x} given in the form {@link #prepare} wrote (the same value as
     * {@link #dot} up to the order of the sum, which is fixed).
     */
    default float dotPrepared(MemorySegment src, long offset, float[] prepared, int preparedOffset, int n) {
        throw new UnsupportedOperationException(type() + " has no prepared activations");
    }

    /**
     * True if {@link #dequantizeTile} writes a row in an order of its own (a permutation within each block, the
     * order in which this format's vector kernel unpacks it cheaply); activations dotted with such a row must
     * first be put in the same order by {@link #permuteTile}. False: both are the natural order.
     */
    default boolean tileOrdered() {
        return false;
    }

    /**
     * Decodes {@code n} elements like {@link #dequantize} (the same values), in the tile order: batched products
     * decode a weight row once and dot it with many activation rows, so the decoding's cost is what counts.
     */
    default void dequantizeTile(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        dequantize(src, offset, dst, dstOffset, n);
    }

    /** Most activation rows {@link #dotTile} takes at once. */
    int TILE_DOT_ROWS = 2;

    /** Floats of the scratch array {@link #dotTile} needs: one 512-bit vector per row. */
    int TILE_DOT_SCRATCH = 16 * TILE_DOT_ROWS;

    /**
     * A row's tile dot product with {@code rows} (1 to {@link #TILE_DOT_ROWS}) activation rows at once, without
     * writing the tile: for each activation row b, {@code y[yOffset + b·yStride]} becomes exactly what
     * {@link #dequantizeTile} followed by the tile product would give, i.e. one accumulator of {@code VL} lanes
     * taking {@code tile[i..i+VL)·x[i..i+VL)} by one fused multiply-add per step in the tile order, then the
     * fixed lane sum ({@code Simd.sum}'s order). Bit-identical to the tile path, so a batch-invariant caller may
     * use either for any row. The activation rows are {@code n} apart from {@code xOffset}, in the tile order.
     * {@code scratch} holds at least {@link #TILE_DOT_SCRATCH} floats the kernel may overwrite (its final lane sums
     * run in scalar code from there: several vector sums as calls would box their vectors once C2's inlining
     * budget is spent). Returns false (and writes nothing) where this format has no such kernel at this width.
     */
    default boolean dotTile(MemorySegment src, long offset, float[] x, int xOffset, int rows, float[] y, int yOffset, int yStride, int n,
            float[] scratch) {
        return false;
    }

    /** Copies {@code x[xOffset .. xOffset+n)} to {@code dst} at {@code dstOffset} in the tile order. */
    default void permuteTile(float[] x, int xOffset, int n, float[] dst, int dstOffset) {
        System.arraycopy(x, xOffset, dst, dstOffset, n);
    }

    /** True if {@link #quantize} is implemented. */
    default boolean canQuantize() {
        return false;
    }

    /**
     * Encodes {@code n} floats (a multiple of the block size) into {@code dst} at {@code offset}, writing
     * exactly {@code rowBytes(n)} bytes, with the rounding llama.cpp's reference quantizer uses.
     */
    default void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        throw new UnsupportedOperationException(type() + " cannot be written");
    }

    /** The implementation for a type; throws {@link UnsupportedTensorTypeException} if there is none. */
    static TensorFormat of(GgmlType type) {
        return TensorFormats.of(type);
    }
}
