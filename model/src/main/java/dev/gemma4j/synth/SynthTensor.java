package dev.gemma4j.synth;

import dev.gemma4j.tensor.GgmlType;
import java.util.Arrays;

/**
 * One tensor of a synthetic model: its GGUF name, ggml shape, format and how its values are drawn.
 *
 * @param layer block index, or -1 for the global tensors
 */
public record SynthTensor(String name, long[] shape, GgmlType type, int layer, Fill fill) {

    /** How the values of a tensor are made; every row is drawn from its own seed (see {@link SynthWeights}). */
    public sealed interface Fill {
    }

    /** Zero-mean, roughly Gaussian values with standard deviation {@code std}. */
    public record Normal(double std) implements Fill {
    }

    /** Uniform values in {@code [center - spread, center + spread]} (norm weights, scales). */
    public record Around(double center, double spread) implements Fill {
    }

    /** Fixed values (one row). */
    public record Values(float[] values) implements Fill {
    }

    /**
     * The merged expert gate+up tensor: for each expert the first {@code width} rows are drawn exactly
     * like the rows of {@code gateName}, the next {@code width} like those of {@code upName}, so that the
     * merged and the split layouts of the same seed are the same model.
     */
    public record MergedGateUp(double std, String gateName, String upName, int width) implements Fill {
    }

    public SynthTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long rowLength() {
        return shape[0];
    }

    public long rows() {
        long r = 1;
        for (int i = 1; i < shape.length; i++) {
            r = Math.multiplyExact(r, shape[i]);
        }
        return r;
    }

    public long elements() {
        return Math.multiplyExact(rows(), shape[0]);
    }

    public long bytes() {
        return Math.multiplyExact(rows(), type.rowBytes(shape[0]));
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
