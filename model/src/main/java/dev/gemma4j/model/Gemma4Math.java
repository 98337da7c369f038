package dev.gemma4j.model;

import dev.gemma4j.model.Gemma4Config.LayerConfig;

/**
 * The Gemma 4 facts every backend must compute identically (spec §3 and §8.1): they are derived here,
 * once, on the host, and backends use the results (a device backend uploads the tables) instead of
 * re-deriving them. Nothing here is on a hot path except {@link #selectExperts}, which is allocation-free.
 */
public final class Gemma4Math {

    /**
     * llama.cpp's lower bound on the sum of the chosen experts' probabilities before renormalising
     * (2^-14, the smallest normal f16), so a row whose chosen probabilities all underflow does not divide by 0.
     */
    public static final float MIN_EXPERT_WEIGHT_SUM = 6.103515625e-5f;

    /** {@code rope_freqs} entries at or above this mark pairs that do not rotate (llama.cpp writes 1e30). */
    private static final double NO_ROTATION = 1e29;

    private Gemma4Math() {
    }

    /** The token embedding is multiplied by √D before the first layer. */
    public static float embeddingScale(Gemma4Config cfg) {
        return (float) Math.sqrt(cfg.modelWidth());
    }

    /** The router's input is the unweighted RMS-normed residual times 1/√D (then times {@code ffn_gate_inp.scale}). */
    public static float routerInputScale(Gemma4Config cfg) {
        return (float) (1.0 / Math.sqrt(cfg.modelWidth()));
    }

    /**
     * RoPE angle per position unit for each rotated pair {@code (i, i + ropeDims/2)} of a layer (NEOX order):
     * {@code base^(-2i/ropeDims)}, divided on global layers by {@code rope_freqs[i]}; 0 for a pair that
     * does not rotate. Computed in double so every backend starts from the same f32-rounded angles.
     *
     * @param ropeFreqs {@code rope_freqs.weight}, or null when the model has none
     */
    public static double[] ropeInverseFrequencies(LayerConfig lc, float[] ropeFreqs) {
        int half = lc.ropeDims() / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            double theta = Math.pow(lc.ropeBase(), -2.0 * i / lc.ropeDims());
            double factor = (!lc.sliding() && ropeFreqs != null) ? ropeFreqs[i] : 1.0;
            inv[i] = factor >= NO_ROTATION ? 0.0 : theta / factor;
        }
        return inv;
    }

    /** The first position a query at {@code pos} attends to: the window includes the current token. */
    public static int firstVisiblePosition(LayerConfig lc, int slidingWindow, int pos) {
        return lc.sliding() ? Math.max(0, pos - slidingWindow + 1) : 0;
    }

    /** The final soft-cap {@code cap·tanh(x/cap)}; a cap of 0 disables it. */
    public static float softcap(float x, float cap) {
        return cap > 0 ? cap * (float) Math.tanh(x / cap) : x;
    }

    /**
     * Top-k of a row of router probabilities (after softmax) with llama.cpp's rules: the k largest, ties to the
     * lower expert id, their weights renormalised by {@code max(sum, MIN_EXPERT_WEIGHT_SUM)}.
     * A NaN probability (only from corrupt weights) ranks below every number, so the chosen ids are always
     * valid and distinct; backends check products for non-finite values before this point anyway.
     *
     * @return nothing; writes {@code ids[io .. io+k)} and {@code weights[io .. io+k)}
     */
    public static void selectExperts(float[] probs, int po, int expertCount, int k, int[] ids, float[] weights, int io) {
        float sum = 0;
        for (int t = 0; t < k; t++) {
            int best = -1;
            float bestP = 0;
            for (int e = 0; e < expertCount; e++) {
                float p = probs[po + e];
                if (isChosen(ids, io, t, e)) {
                    continue;
                }
                if (best < 0 || p > bestP || (Float.isNaN(bestP) && !Float.isNaN(p))) {
                    best = e;
                    bestP = p;
                }
            }
            ids[io + t] = best;
            weights[io + t] = bestP;
            sum += bestP;
        }
        sum = Math.max(sum, MIN_EXPERT_WEIGHT_SUM);
        for (int t = 0; t < k; t++) {
            weights[io + t] /= sum;
        }
    }

    private static boolean isChosen(int[] ids, int io, int t, int e) {
        for (int i = 0; i < t; i++) {
            if (ids[io + i] == e) {
                return true;
            }
        }
        return false;
    }
}
