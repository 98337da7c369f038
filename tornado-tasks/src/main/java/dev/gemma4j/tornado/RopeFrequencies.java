package dev.gemma4j.tornado;

import dev.gemma4j.model.Gemma4Config.LayerConfig;

/**
 * Gemma 4 constants the device must compute exactly as the CPU engine does (spec §3.3, §3.4): RoPE inverse
 * frequencies per layer (with rope_freqs divisors on global layers; pairs whose divisor is ≥ 1e29 do not
 * rotate) and llama.cpp's lower bound on the sum of the chosen experts' probabilities.
 * TODO(engine factory): take both from {@code dev.gemma4j.model.Gemma4Math} once it is on main.
 */
final class RopeFrequencies {
    static final float MIN_EXPERT_WEIGHT_SUM = 6.103515625e-5f;

    private RopeFrequencies() {
    }

    /** RoPE angle per position unit for pair i (i < ropeDims/2); 0 for pairs that do not rotate. */
    static double[] of(LayerConfig lc, float[] ropeFreqs) {
        int half = lc.ropeDims() / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            double base = Math.pow(lc.ropeBase(), -2.0 * i / lc.ropeDims());
            double factor = (!lc.sliding() && ropeFreqs != null) ? ropeFreqs[i] : 1.0;
            inv[i] = factor >= 1e29 ? 0.0 : base / factor;
        }
        return inv;
    }
}
