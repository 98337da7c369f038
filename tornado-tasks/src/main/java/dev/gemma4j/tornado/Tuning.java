package dev.gemma4j.tornado;

import java.util.Map;

/**
 * Work-group sizes and batch shape of the TaskGraph, from the profile ({@code profiles/*.properties},
 * keys {@code tornado.*}); defaults suit PoCL and are reasonable for GPUs.
 *
 * @param batchRows     rows pushed through the graphs per step: prefill chunk and sessions per step
 * @param sessions      sessions that can hold a KV cache on the device at once
 * @param matvecLocal   threads per output element of a matrix-vector product (power of two)
 * @param normLocal     threads per row of the norms and the argmax (power of two)
 * @param attnLocal     threads per (row, head, chunk) of attention (power of two)
 * @param attnChunk     cached positions per attention work-group (split-K over the context)
 * @param roundActivations round activations as llama.cpp's CPU backend does (the CPU engine does too)
 * @param tileRows      activation rows per work-group of the tiled weight products ({@code Kernels.matmulTiles}) when
 *                      a step has more than one row; 0 keeps one work-group per (output, row) ({@code Kernels.matvec})
 */
record Tuning(int batchRows, int sessions, int matvecLocal, int normLocal, int attnLocal, int attnChunk, boolean roundActivations,
              int tileRows) {

    static final int DEFAULT_TILE_ROWS = 8;

    Tuning {
        for (int v : new int[] {matvecLocal, normLocal, attnLocal}) {
            if (v < 1 || Integer.bitCount(v) != 1) {
                throw new IllegalArgumentException("work-group sizes must be powers of two, got " + v);
            }
        }
        if (batchRows < 1 || sessions < 1 || attnChunk < 1) {
            throw new IllegalArgumentException("tornado.batch, tornado.sessions and tornado.attention.chunk must be positive");
        }
        if (tileRows < 0) {
            throw new IllegalArgumentException("tornado.tile.rows must be 0 (off) or positive, got " + tileRows);
        }
    }

    Tuning(int batchRows, int sessions, int matvecLocal, int normLocal, int attnLocal, int attnChunk, boolean roundActivations) {
        this(batchRows, sessions, matvecLocal, normLocal, attnLocal, attnChunk, roundActivations, DEFAULT_TILE_ROWS);
    }

    /** Activation rows per tile of a plan for {@code batchRows} rows; 0 where the plain matvec is used (batch 1, or tiles off). */
    int tileFor(int batch) {
        return batch > 1 && tileRows > 0 ? Math.min(batch, tileRows) : 0;
    }

    static Tuning defaults() {
        return new Tuning(8, 4, 64, 256, 64, 128, true);
    }

    /** Reads {@code tornado.batch}, {@code tornado.sessions}, {@code tornado.matvec.local}, ... over the defaults. */
    static Tuning from(Map<String, String> settings) {
        Tuning d = defaults();
        return new Tuning(
            intOr(settings, "tornado.batch", d.batchRows),
            intOr(settings, "tornado.sessions", d.sessions),
            intOr(settings, "tornado.matvec.local", d.matvecLocal),
            intOr(settings, "tornado.norm.local", d.normLocal),
            intOr(settings, "tornado.attention.local", d.attnLocal),
            intOr(settings, "tornado.attention.chunk", d.attnChunk),
            Boolean.parseBoolean(settings.getOrDefault("tornado.round.activations", Boolean.toString(d.roundActivations))),
            intOr(settings, "tornado.tile.rows", d.tileRows));
    }

    private static int intOr(Map<String, String> s, String key, int dflt) {
        String v = s.get(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'");
        }
    }

    Tuning withBatchRows(int b) {
        return new Tuning(b, sessions, matvecLocal, normLocal, attnLocal, attnChunk, roundActivations, tileRows);
    }

    Tuning withSessions(int s) {
        return new Tuning(batchRows, s, matvecLocal, normLocal, attnLocal, attnChunk, roundActivations, tileRows);
    }
}
