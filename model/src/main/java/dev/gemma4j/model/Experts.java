package dev.gemma4j.model;

/**
 * The experts of one MoE projection, stored as one 3-D tensor {@code {cols, rowsPerExpert, count}} (ggml
 * order): expert {@code e} is the {@code rowsPerExpert} rows starting at byte {@code e · expertStride()} of
 * {@link #all()}. A device backend uploads {@code all} once and indexes the selected expert from a device
 * array; the CPU engine uses the per-expert views.
 *
 * @param all            every expert's rows, {@code count · rowsPerExpert} rows of {@code cols}
 * @param rowsPerExpert  output rows of one expert
 * @param count          number of experts
 */
public record Experts(Matrix all, int rowsPerExpert, int count, Matrix[] perExpert) {

    public static Experts of(Matrix all, int rowsPerExpert, int count) {
        if ((long) rowsPerExpert * count != all.rows()) {
            throw new IllegalArgumentException(all.name() + ": " + all.rows() + " rows are not " + count + " experts of " + rowsPerExpert);
        }
        Matrix[] views = new Matrix[count];
        for (int e = 0; e < count; e++) {
            views[e] = all.rowSlice(all.name() + "[" + e + "]", e * rowsPerExpert, rowsPerExpert);
        }
        return new Experts(all, rowsPerExpert, count, views);
    }

    /** Expert {@code e} as a matrix of its own (a view, no copy). */
    public Matrix expert(int e) {
        return perExpert[e];
    }

    /** Bytes from one expert's first row to the next's. */
    public long expertStride() {
        return rowsPerExpert * all.rowBytes();
    }

    public String name() {
        return all.name();
    }
}
