package dev.gemma4j.gguf;

import dev.gemma4j.tensor.GgmlType;

/**
 * A tensor described by a GGUF header. {@code shape} is in ggml order: {@code shape[0]} is the contiguous
 * row length. {@code offset} counts from the start of the data area of shard {@code shard}.
 */
public record TensorInfo(String name, GgmlType type, long[] shape, long offset, int shard, long byteSize) {

    /** Total number of elements. */
    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Elements per row ({@code shape[0]}). */
    public long rowLength() {
        return shape[0];
    }

    /** Number of rows (product of all dimensions but the first). */
    public long rows() {
        return elements() / shape[0];
    }

    /** Bytes per row. */
    public long rowBytes() {
        return type.rowBytes(shape[0]);
    }

    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    /** Shape as {@code [a, b, c]}. */
    public String shapeString() {
        return java.util.Arrays.toString(shape);
    }
}
