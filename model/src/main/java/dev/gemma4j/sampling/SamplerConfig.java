package dev.gemma4j.sampling;

/**
 * How the next token is chosen from logits. Applied in llama.cpp's default order: penalties over the last
 * {@code penaltyLastN} tokens, top-k, top-p, min-p, temperature, then a seeded draw. A temperature of 0
 * (or less) is greedy decoding.
 *
 * @param temperature      divides the logits; ≤ 0 picks the most likely token
 * @param topK             keep the k most likely tokens (0 = all)
 * @param topP             keep the smallest set of most likely tokens whose probability reaches p (1 = all)
 * @param minP             drop tokens less likely than minP × the most likely one (0 = none)
 * @param repeatPenalty    divides positive / multiplies negative logits of recent tokens (1 = off)
 * @param presencePenalty  subtracted from the logit of every recent token (0 = off)
 * @param frequencyPenalty subtracted once per recent occurrence (0 = off)
 * @param penaltyLastN     how many recent tokens the penalties look at
 * @param seed             seed of the draw: the same seed and inputs give the same tokens
 */
public record SamplerConfig(float temperature, int topK, float topP, float minP, float repeatPenalty,
                            float presencePenalty, float frequencyPenalty, int penaltyLastN, long seed) {

    public SamplerConfig {
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be ≥ 0, got " + topK);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0f && minP <= 1f)) {
            throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        }
        if (!(repeatPenalty > 0f)) {
            throw new IllegalArgumentException("repeat penalty must be > 0, got " + repeatPenalty);
        }
        if (penaltyLastN < 0) {
            throw new IllegalArgumentException("penalty window must be ≥ 0, got " + penaltyLastN);
        }
        if (Float.isNaN(temperature)) {
            throw new IllegalArgumentException("temperature is NaN");
        }
    }

    /** Always the most likely token. */
    public static SamplerConfig greedy() {
        return new SamplerConfig(0f, 0, 1f, 0f, 1f, 0f, 0f, 64, 0);
    }

    /** Gemma 4's shipped defaults (temperature 1, top-k 64, top-p 0.95) with the given seed. */
    public static SamplerConfig gemmaDefaults(long seed) {
        return new SamplerConfig(1f, 64, 0.95f, 0f, 1f, 0f, 0f, 64, seed);
    }

    public boolean isGreedy() {
        return temperature <= 0f;
    }

    public SamplerConfig withSeed(long s) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, presencePenalty, frequencyPenalty, penaltyLastN, s);
    }
}
