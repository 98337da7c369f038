package dev.gemma4j.synth;

import java.util.Locale;

/**
 * Shapes of a synthetic Gemma 4 model (spec §1). Sliding layers use {@code headDimSwa} /
 * {@code kvHeadsSwa} and the rope base 1e4; full ("global") layers use {@code headDimFull} /
 * {@code kvHeadsFull}, the rope base 1e6, partial rotation through {@code rope_freqs} and K=V (no
 * {@code attn_v}).
 *
 * @param slidingPattern one entry per layer, {@code true} = sliding layer (the GGUF bool array)
 * @param dense          no MoE at all: every layer is a plain GEGLU MLP (spec §3.8)
 * @param splitExperts   separate {@code ffn_gate_exps} / {@code ffn_up_exps} instead of merged gate_up
 * @param untiedOutput   write {@code output.weight} instead of tying the LM head to the embedding
 */
public record SynthConfig(
    String name,
    int layers,
    int width,
    int heads,
    int headDimSwa,
    int headDimFull,
    int kvHeadsSwa,
    int kvHeadsFull,
    int experts,
    int expertsPerToken,
    int expertWidth,
    int denseWidth,
    int vocab,
    int slidingWindow,
    boolean[] slidingPattern,
    int contextLength,
    boolean dense,
    boolean splitExperts,
    boolean untiedOutput) {

    /** Fraction of the full-layer head that rotates (HF partial_rotary_factor of full attention). */
    public static final double FULL_ROTARY_FRACTION = 0.25;

    public SynthConfig {
        slidingPattern = slidingPattern.clone();
    }

    @Override
    public boolean[] slidingPattern() {
        return slidingPattern.clone();
    }

    public boolean isSliding(int layer) {
        return slidingPattern[layer];
    }

    public int headDim(int layer) {
        return isSliding(layer) ? headDimSwa : headDimFull;
    }

    public int kvHeads(int layer) {
        return isSliding(layer) ? kvHeadsSwa : kvHeadsFull;
    }

    public boolean hasExperts() {
        return !dense;
    }

    /** Presets: tiny (unit tests), small, quarter (about 6B parameters) and full (26B-A4B shapes). */
    public static SynthConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            // Every feature at a few MB; D and the attention output widths are multiples of 256 so the
            // K-quant types are really used, while the dense (96) and expert (32) widths are not, as in
            // the real model (2112, 704), so the 32-block fallbacks are exercised too.
            case "tiny" -> new SynthConfig("tiny", 5, 256, 4, 64, 128, 2, 1, 16, 4, 32, 96, 2048, 16,
                pattern(5, "SSF"), 4096, false, false, false);
            case "small" -> new SynthConfig("small", 6, 512, 8, 64, 128, 4, 1, 32, 4, 96, 352, 8192, 64,
                pattern(6, "SSSSSF"), 8192, false, false, false);
            case "quarter" -> new SynthConfig("quarter", 12, 2816, 16, 256, 512, 8, 2, 64, 8, 704, 2112, 262144, 1024,
                pattern(12, "SSSSSF"), 262144, false, false, false);
            case "full" -> new SynthConfig("full", 30, 2816, 16, 256, 512, 8, 2, 128, 8, 704, 2112, 262144, 1024,
                pattern(30, "SSSSSF"), 262144, false, false, false);
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected tiny, small, quarter or full)");
        };
    }

    /**
     * Expands a pattern of {@code S} (sliding) and {@code F} (full) letters to {@code layers} entries by
     * repeating it; a pattern as long as the model is taken as is.
     */
    public static boolean[] pattern(int layers, String letters) {
        if (letters.isEmpty()) {
            throw new IllegalArgumentException("layer pattern is empty");
        }
        boolean[] p = new boolean[layers];
        for (int i = 0; i < layers; i++) {
            char c = Character.toUpperCase(letters.charAt(i % letters.length()));
            p[i] = switch (c) {
                case 'S' -> true;
                case 'F', 'G' -> false;
                default -> throw new IllegalArgumentException("layer pattern '" + letters + "': expected only S (sliding) and F (full) letters");
            };
        }
        return p;
    }

    public String patternLetters() {
        StringBuilder b = new StringBuilder();
        for (boolean s : slidingPattern) {
            b.append(s ? 'S' : 'F');
        }
        return b.toString();
    }

    /** Checks the constraints llama.cpp's gemma4 loader and our writer need; throws a clear message. */
    public SynthConfig validate() {
        require(layers >= 2, "layers must be at least 2 (llama.cpp's KV cache needs two), got " + layers);
        require(slidingPattern.length == layers, "layer pattern has " + slidingPattern.length + " entries for " + layers + " layers");
        boolean anySliding = false;
        boolean anyFull = false;
        for (boolean s : slidingPattern) {
            anySliding |= s;
            anyFull |= !s;
        }
        require(anySliding, "the layer pattern needs at least one sliding layer (S)");
        require(width >= 32 && width % 32 == 0, "width must be a positive multiple of 32, got " + width);
        require(heads >= 1, "heads must be at least 1");
        require(headDimSwa >= 2 && headDimSwa % 2 == 0, "sliding head dim must be even, got " + headDimSwa);
        require(headDimFull >= 2 && headDimFull % 2 == 0, "full head dim must be even, got " + headDimFull);
        if (anyFull) {
            int rotPairs = (int) (headDimFull * FULL_ROTARY_FRACTION / 2);
            require(rotPairs >= 1, "full head dim " + headDimFull + " is too small for 25% partial rotation");
        }
        require(kvHeadsSwa >= 1 && heads % kvHeadsSwa == 0, "heads (" + heads + ") must be a multiple of sliding kv heads (" + kvHeadsSwa + ")");
        require(kvHeadsFull >= 1 && heads % kvHeadsFull == 0, "heads (" + heads + ") must be a multiple of full kv heads (" + kvHeadsFull + ")");
        require(denseWidth >= 32 && denseWidth % 32 == 0, "dense width must be a positive multiple of 32, got " + denseWidth);
        if (!dense) {
            require(experts >= 2, "experts must be at least 2 (or use --dense), got " + experts);
            require(experts <= 512, "experts must be at most 512 (llama.cpp's limit), got " + experts);
            require(expertsPerToken >= 1 && expertsPerToken <= experts,
                "experts per token must be in 1.." + experts + ", got " + expertsPerToken);
            require(expertWidth >= 32 && expertWidth % 32 == 0, "expert width must be a positive multiple of 32, got " + expertWidth);
        }
        require(vocab >= SynthTokenizer.MIN_VOCAB, "vocab must be at least " + SynthTokenizer.MIN_VOCAB + ", got " + vocab);
        require(slidingWindow >= 1, "sliding window must be at least 1, got " + slidingWindow);
        require(contextLength >= 1, "context length must be at least 1, got " + contextLength);
        return this;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SynthConfig c && toString().equals(c.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "SynthConfig[" + name + ": layers=" + layers + " (" + patternLetters() + "), width=" + width
            + ", heads=" + heads + ", headDim=" + headDimSwa + "/" + headDimFull + ", kvHeads=" + kvHeadsSwa + "/" + kvHeadsFull
            + (dense ? ", dense" : ", experts=" + experts + " top-" + expertsPerToken + " width " + expertWidth)
            + ", denseWidth=" + denseWidth + ", vocab=" + vocab + ", window=" + slidingWindow + ", ctx=" + contextLength
            + (splitExperts ? ", split" : "") + (untiedOutput ? ", untied" : "") + "]";
    }

    /** A copy with some fields changed, for the CLI's explicit-dimension options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Mutable copy used to override preset values. */
    public static final class Builder {
        public String name;
        public int layers;
        public int width;
        public int heads;
        public int headDimSwa;
        public int headDimFull;
        public int kvHeadsSwa;
        public int kvHeadsFull;
        public int experts;
        public int expertsPerToken;
        public int expertWidth;
        public int denseWidth;
        public int vocab;
        public int slidingWindow;
        public String patternLetters;
        public int contextLength;
        public boolean dense;
        public boolean splitExperts;
        public boolean untiedOutput;
        private final String presetPattern;

        Builder(SynthConfig c) {
            name = c.name;
            layers = c.layers;
            width = c.width;
            heads = c.heads;
            headDimSwa = c.headDimSwa;
            headDimFull = c.headDimFull;
            kvHeadsSwa = c.kvHeadsSwa;
            kvHeadsFull = c.kvHeadsFull;
            experts = c.experts;
            expertsPerToken = c.expertsPerToken;
            expertWidth = c.expertWidth;
            denseWidth = c.denseWidth;
            vocab = c.vocab;
            slidingWindow = c.slidingWindow;
            contextLength = c.contextLength;
            dense = c.dense;
            splitExperts = c.splitExperts;
            untiedOutput = c.untiedOutput;
            presetPattern = presetPeriod(c.patternLetters());
        }

        /** The shortest period of the preset's pattern, so that changing the layer count keeps its rhythm. */
        private static String presetPeriod(String letters) {
            for (int p = 1; p <= letters.length(); p++) {
                boolean ok = true;
                for (int i = p; i < letters.length() && ok; i++) {
                    ok = letters.charAt(i) == letters.charAt(i - p);
                }
                if (ok) {
                    return letters.substring(0, p);
                }
            }
            return letters;
        }

        public SynthConfig build() {
            boolean[] p = pattern(layers, patternLetters != null ? patternLetters : presetPattern);
            if (patternLetters != null && patternLetters.length() > layers) {
                throw new IllegalArgumentException("layer pattern '" + patternLetters + "' is longer than the " + layers + " layers");
            }
            return new SynthConfig(name, layers, width, heads, headDimSwa, headDimFull, kvHeadsSwa, kvHeadsFull, experts,
                expertsPerToken, expertWidth, denseWidth, vocab, slidingWindow, p, contextLength, dense, splitExperts,
                untiedOutput).validate();
        }
    }
}
