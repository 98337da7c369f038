package dev.gemma4j.sampling;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A grammar constraint sets logits to -inf; no sampler setting may then pick such a token. */
class MaskedLogitsSamplerTest {
    @Test
    void neverPicksAMinusInfinityLogit() {
        int n = 3000;
        SamplerConfig[] configs = {
            SamplerConfig.greedy(), SamplerConfig.gemmaDefaults(0),
            new SamplerConfig(1.5f, 0, 1f, 0f, 1f, 0f, 0f, 64, 0),
            new SamplerConfig(0.7f, 0, 0.9f, 0.05f, 1.3f, 0.5f, 0.5f, 64, 0),
            new SamplerConfig(1f, 5000, 1f, 0f, 1f, 0f, 0f, 0, 0)};
        SplittableRandom rnd = new SplittableRandom(7);
        for (SamplerConfig base : configs) {
            for (long seed = 0; seed < 20; seed++) {
                Sampler s = new Sampler(base.withSeed(seed), n);
                float[] logits = new float[n];
                boolean[] allowed = new boolean[n];
                for (int step = 0; step < 30; step++) {
                    Arrays.fill(allowed, false);
                    int k = 1 + rnd.nextInt(step % 3 == 0 ? 2 : 200);
                    for (int i = 0; i < k; i++) {
                        allowed[rnd.nextInt(n)] = true;
                    }
                    for (int i = 0; i < n; i++) {
                        logits[i] = allowed[i] ? (float) rnd.nextGaussian() - 20f : Float.NEGATIVE_INFINITY;
                    }
                    int t = s.sample(logits);
                    assertTrue(allowed[t], base + " seed " + seed + " picked masked token " + t);
                    s.accept(t);
                }
            }
        }
    }
}
