package dev.gemma4j.model;

import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.MemorySegment;

/**
 * A 2-D weight {@code {cols, rows}} (ggml order) in its stored format: {@code rows} rows of {@code cols}
 * elements, row {@code r} at byte {@code r * rowBytes} of {@code data} (a slice of the mapped file).
 * "y = W·x" is {@code y[r] = format.dot(data, rowOffset(r), x, 0, cols)}.
 */
public record Matrix(String name, TensorFormat format, MemorySegment data, int cols, int rows, long rowBytes) {

    public long rowOffset(int row) {
        return row * rowBytes;
    }

    /** {@code Σ_c W[row][c]·x[xOffset + c]}. */
    public float dotRow(int row, float[] x, int xOffset) {
        return format.dot(data, row * rowBytes, x, xOffset, cols);
    }

    /** Decodes row {@code row} into {@code dst[dstOffset ..]}. */
    public void dequantizeRow(int row, float[] dst, int dstOffset) {
        format.dequantize(data, row * rowBytes, dst, dstOffset, cols);
    }

    /** Decodes row {@code row} into {@code dst[dstOffset ..]} in its format's tile order ({@link TensorFormat#dequantizeTile}). */
    public void dequantizeTileRow(int row, float[] dst, int dstOffset) {
        format.dequantizeTile(data, row * rowBytes, dst, dstOffset, cols);
    }

    /** Rows {@code [from, from + count)} as a matrix of their own (an expert of a 3-D tensor, a half of gate_up). */
    public Matrix rowSlice(String sliceName, int from, int count) {
        return new Matrix(sliceName, format, data.asSlice(from * rowBytes, count * rowBytes), cols, count, rowBytes);
    }

    public long byteSize() {
        return rows * rowBytes;
    }
}
