package dev.gemma4j.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class SamplerTest {
    /** Logits whose softmax is exactly [0.5, 0.3, 0.15, 0.05] (then a tail of impossible tokens). */
    static float[] handDistribution() {
        float[] l = new float[8];
        Arrays.fill(l, Float.NEGATIVE_INFINITY);
        double[] p = {0.05, 0.5, 0.15, 0.3};
        for (int i = 0; i < p.length; i++) {
            l[i] = (float) Math.log(p[i]);
        }
        return l;
    }

    static SamplerConfig cfg(float temp, int topK, float topP, float minP, long seed) {
        return new SamplerConfig(temp, topK, topP, minP, 1f, 0f, 0f, 64, seed);
    }

    static Set<Integer> support(SamplerConfig c, float[] logits) {
        Sampler s = new Sampler(c, logits.length);
        Set<Integer> seen = new TreeSet<>();
        for (int i = 0; i < 4000; i++) {
            seen.add(s.sample(logits));
        }
        return seen;
    }

    @Test
    void greedyAndTopKOfOneAreTheArgmax() {
        Random r = new Random(3);
        for (int t = 0; t < 50; t++) {
            float[] l = new float[1000];
            for (int i = 0; i < l.length; i++) {
                l[i] = (float) r.nextGaussian() * 3;
            }
            int argmax = 0;
            for (int i = 1; i < l.length; i++) {
                if (l[i] > l[argmax]) {
                    argmax = i;
                }
            }
            assertEquals(argmax, new Sampler(SamplerConfig.greedy(), l.length).sample(l));
            assertEquals(argmax, new Sampler(cfg(1.5f, 1, 1f, 0f, t), l.length).sample(l));
        }
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        float[] l = handDistribution();
        // sorted probabilities 0.5 (id 1), 0.3 (id 3), 0.15 (id 2), 0.05 (id 0); cumulative 0.5, 0.8, 0.95, 1
        assertEquals(Set.of(1), support(cfg(1f, 0, 0.45f, 0f, 1), l));
        assertEquals(Set.of(1, 3), support(cfg(1f, 0, 0.75f, 0f, 1), l));
        assertEquals(Set.of(1, 3, 2), support(cfg(1f, 0, 0.9f, 0f, 1), l));
        assertEquals(Set.of(0, 1, 2, 3), support(cfg(1f, 0, 1f, 0f, 1), l));
    }

    @Test
    void minPAndTopKCutWhereExpected() {
        float[] l = handDistribution();
        // min-p 0.2: keep p ≥ 0.1 → ids 1, 3, 2; min-p 0.5: keep p ≥ 0.25 → 1, 3
        assertEquals(Set.of(1, 3, 2), support(cfg(1f, 0, 1f, 0.2f, 1), l));
        assertEquals(Set.of(1, 3), support(cfg(1f, 0, 1f, 0.5f, 1), l));
        assertEquals(Set.of(1, 3), support(cfg(1f, 2, 1f, 0f, 1), l));
    }

    @Test
    void samplingFrequenciesFollowTheDistribution() {
        float[] l = handDistribution();
        Sampler s = new Sampler(cfg(1f, 0, 1f, 0f, 9), l.length);
        int[] counts = new int[8];
        int n = 20000;
        for (int i = 0; i < n; i++) {
            counts[s.sample(l)]++;
        }
        assertEquals(0.5, counts[1] / (double) n, 0.02);
        assertEquals(0.3, counts[3] / (double) n, 0.02);
        assertEquals(0.05, counts[0] / (double) n, 0.01);
    }

    @Test
    void sameSeedSameTokensOtherSeedOtherTokens() {
        float[] l = new float[500];
        Random r = new Random(1);
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) r.nextGaussian();
        }
        int[] a = draw(cfg(1f, 0, 0.95f, 0f, 42), l);
        int[] b = draw(cfg(1f, 0, 0.95f, 0f, 42), l);
        int[] c = draw(cfg(1f, 0, 0.95f, 0f, 43), l);
        assertTrue(Arrays.equals(a, b));
        assertNotEquals(Arrays.toString(a), Arrays.toString(c));
    }

    static int[] draw(SamplerConfig c, float[] l) {
        Sampler s = new Sampler(c, l.length);
        int[] out = new int[30];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.sample(l);
        }
        return out;
    }

    @Test
    void penaltiesFollowLlamaCppRules() {
        // greedy with penalties: token 0 (logit 2) repeated twice, token 1 (logit -1) once, token 2 logit 1.5 unseen
        float[] l = {2f, -1f, 1.5f, 0.2f};
        // repeat 2: 2 → 1 (below 1.5), so 2 wins
        Sampler rep = new Sampler(new SamplerConfig(0f, 0, 1f, 0f, 2f, 0f, 0f, 8, 0), 4);
        rep.accept(0);
        rep.accept(0);
        rep.accept(1);
        assertEquals(2, rep.sample(l));
        // frequency 0.3 per occurrence: 2 − 0.6 = 1.4 < 1.5
        Sampler freq = new Sampler(new SamplerConfig(0f, 0, 1f, 0f, 1f, 0f, 0.3f, 8, 0), 4);
        freq.accept(0);
        freq.accept(0);
        assertEquals(2, freq.sample(l));
        // frequency 0.2: 2 − 0.4 = 1.6 > 1.5
        Sampler freqLow = new Sampler(new SamplerConfig(0f, 0, 1f, 0f, 1f, 0f, 0.2f, 8, 0), 4);
        freqLow.accept(0);
        freqLow.accept(0);
        assertEquals(0, freqLow.sample(l));
        // presence 0.6 once, however often: 2 − 0.6 = 1.4
        Sampler pres = new Sampler(new SamplerConfig(0f, 0, 1f, 0f, 1f, 0.6f, 0f, 8, 0), 4);
        pres.accept(0);
        assertEquals(2, pres.sample(l));
        // the window forgets: with penaltyLastN 2, two later tokens push token 0 out
        Sampler window = new Sampler(new SamplerConfig(0f, 0, 1f, 0f, 4f, 0f, 0f, 2, 0), 4);
        window.accept(0);
        window.accept(3);
        window.accept(3);
        assertEquals(0, window.sample(l));
        assertEquals(2f, l[0]);
    }

    @Test
    void badConfigurationsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> cfg(1f, -1, 1f, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> cfg(1f, 0, 0f, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> cfg(1f, 0, 1f, 1.5f, 0));
    }

    @Test
    void stopTokensAreFoundByText(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path f = dir.resolve("v.gguf");
        // vocabulary: <eos> 1, <turn|> 7, <|tool_response> 8 (not Gemma's ids, so they must be looked up)
        dev.gemma4j.cpu.TinyGemma4.standard().write(f);
        try (dev.gemma4j.gguf.GgufFile g = dev.gemma4j.gguf.GgufFile.open(f)) {
            StopTokens s = StopTokens.of(g);
            assertEquals("[1, 7, 8]", Arrays.toString(s.ids()));
            assertTrue(s.isStop(7) && !s.isStop(2) && !s.isStop(106));
        }
    }
}
