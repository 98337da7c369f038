package dev.gemma4j.model;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.model.Gemma4Gguf.Key;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.nio.file.Path;

/**
 * Hyperparameters of a {@code gemma4} model, read from GGUF metadata with llama.cpp's loader rules
 * (spec §1.2 and §8.1). Per-layer values are resolved into {@link LayerConfig}s.
 *
 * @param modelWidth       D, {@code embedding_length}
 * @param trainedContext   {@code context_length}
 * @param slidingWindow    tokens a sliding layer sees, the current one included
 * @param rmsEps           epsilon of every RMSNorm
 * @param expertCount      experts per MoE layer (0 for a dense model)
 * @param logitSoftcap     final soft-cap; 0 disables it
 * @param vocabSize        rows of the LM head
 */
public record Gemma4Config(
    int modelWidth,
    int trainedContext,
    int slidingWindow,
    float rmsEps,
    int expertCount,
    float logitSoftcap,
    int vocabSize,
    LayerConfig[] layers) {

    /**
     * Attention and FFN shape of one layer.
     *
     * @param sliding        sliding-window layer (else global)
     * @param headCount      query heads
     * @param kvHeadCount    key/value heads (GQA: consecutive groups of headCount/kvHeadCount query heads)
     * @param headDim        key = value head dimension
     * @param ropeDims       rotated dimensions (pairs (i, i + ropeDims/2))
     * @param ropeBase       RoPE frequency base
     * @param ffnWidth       dense MLP hidden width
     * @param expertsUsed    experts chosen per token (top-k)
     * @param expertFfnWidth expert MLP hidden width
     */
    public record LayerConfig(boolean sliding, int headCount, int kvHeadCount, int headDim, int ropeDims,
                              float ropeBase, int ffnWidth, int expertsUsed, int expertFfnWidth) {
        /** Query heads per KV head. */
        public int groupSize() {
            return headCount / kvHeadCount;
        }
    }

    public int layerCount() {
        return layers.length;
    }

    public LayerConfig layer(int il) {
        return layers[il];
    }

    /** Reads and validates the configuration of a {@code gemma4} GGUF. */
    public static Gemma4Config read(GgufFile gguf) {
        Path file = gguf.path();
        String arch = gguf.architecture();
        if (!Gemma4Gguf.ARCHITECTURE.equals(arch)) {
            throw new ModelFormatException(file, "general.architecture is " + (arch == null ? "missing" : "'" + arch + "'")
                + ", expected 'gemma4'");
        }
        Keys k = new Keys(gguf);
        int n = k.requiredInt(Key.BLOCK_COUNT);
        int d = k.requiredInt(Key.EMBEDDING_LENGTH);
        int ctx = k.requiredInt(Key.CONTEXT_LENGTH);
        int window = k.requiredInt(Key.SLIDING_WINDOW);
        boolean[] swa = k.perLayerBool(Key.SLIDING_WINDOW_PATTERN, n);
        float eps = k.requiredFloat(Key.RMS_EPSILON);
        int ple = k.intOr(Key.EMBEDDING_LENGTH_PER_LAYER_INPUT, 0);
        if (ple != 0) {
            throw new ModelFormatException(file, "per-layer embeddings (embedding_length_per_layer_input = " + ple
                + ", Gemma 4 E2B/E4B) are not supported");
        }
        int shared = k.intOr(Key.SHARED_KV_LAYERS, 0);
        if (shared != 0) {
            throw new ModelFormatException(file, "KV-shared layers (attention.shared_kv_layers = " + shared + ") are not supported");
        }
        int[] heads = k.perLayerInt(Key.HEAD_COUNT, n, null);
        int[] kvHeads = k.perLayerInt(Key.HEAD_COUNT_KV, n, heads);
        int keyLen = k.requiredInt(Key.KEY_LENGTH);
        int valLen = k.intOr(Key.VALUE_LENGTH, keyLen);
        int keyLenSwa = k.requiredInt(Key.KEY_LENGTH_SWA);
        int valLenSwa = k.intOr(Key.VALUE_LENGTH_SWA, keyLenSwa);
        if (keyLen != valLen || keyLenSwa != valLenSwa) {
            throw new ModelFormatException(file, "key and value head dimensions differ (" + keyLen + "/" + valLen + ", swa "
                + keyLenSwa + "/" + valLenSwa + ")");
        }
        int rot = k.intOr(Key.ROPE_DIMENSION_COUNT, keyLen);
        int rotSwa = k.requiredInt(Key.ROPE_DIMENSION_COUNT_SWA);
        float base = k.floatOr(Key.ROPE_FREQ_BASE, 10000f);
        float baseSwa = k.floatOr(Key.ROPE_FREQ_BASE_SWA, 10000f);
        int[] ffn = k.perLayerInt(Key.FEED_FORWARD_LENGTH, n, null);
        int experts = k.intOr(Key.EXPERT_COUNT, 0);
        int[] used = k.perLayerInt(Key.EXPERT_USED_COUNT, n, new int[n]);
        int[] expertFfn = k.perLayerInt(Key.EXPERT_FEED_FORWARD_LENGTH, n, new int[n]);
        float cap = k.floatOr(Key.FINAL_LOGIT_SOFTCAPPING, 30f);
        GgufValue tokens = gguf.get(Gemma4Tokenizer.KEY_TOKENS);
        int vocab;
        if (tokens != null && tokens.isArray()) {
            vocab = tokens.length();
        } else if (gguf.tensor(Gemma4Gguf.TOKEN_EMBD) != null) {
            vocab = (int) gguf.tensor(Gemma4Gguf.TOKEN_EMBD).dim(1);
        } else {
            throw new ModelFormatException(file, "no " + Gemma4Tokenizer.KEY_TOKENS + " and no " + Gemma4Gguf.TOKEN_EMBD + ": vocabulary size unknown");
        }
        LayerConfig[] layers = new LayerConfig[n];
        for (int il = 0; il < n; il++) {
            boolean s = swa[il];
            int hd = s ? keyLenSwa : keyLen;
            int nr = s ? rotSwa : rot;
            if (heads[il] <= 0 || kvHeads[il] <= 0 || heads[il] % kvHeads[il] != 0) {
                throw new ModelFormatException(file, "layer " + il + ": head_count " + heads[il] + " is not a positive multiple of head_count_kv "
                    + kvHeads[il]);
            }
            if (nr > hd || nr % 2 != 0) {
                throw new ModelFormatException(file, "layer " + il + ": RoPE dimension count " + nr + " must be even and at most the head dimension "
                    + hd);
            }
            if (experts > 0 && (used[il] <= 0 || used[il] > experts)) {
                throw new ModelFormatException(file, "layer " + il + ": expert_used_count " + used[il] + " not in 1.." + experts);
            }
            layers[il] = new LayerConfig(s, heads[il], kvHeads[il], hd, nr, s ? baseSwa : base, ffn[il], used[il], expertFfn[il]);
        }
        return new Gemma4Config(d, ctx, window, eps, experts, cap, vocab, layers);
    }

    /** Typed access to {@code gemma4.*} keys with the "scalar or per-layer array" rule. */
    private record Keys(GgufFile gguf) {
        private Path file() {
            return gguf.path();
        }

        private GgufValue get(Key key) {
            return gguf.get(key.key());
        }

        private ModelFormatException missing(Key key) {
            return new ModelFormatException(file(), "missing required key " + key.key());
        }

        int requiredInt(Key key) {
            GgufValue v = get(key);
            if (v == null) {
                throw missing(key);
            }
            return scalarInt(key, v);
        }

        int intOr(Key key, int dflt) {
            GgufValue v = get(key);
            return v == null ? dflt : scalarInt(key, v);
        }

        private int scalarInt(Key key, GgufValue v) {
            if (!v.isInteger()) {
                throw new ModelFormatException(file(), key.key() + " must be an integer, found " + v.describe());
            }
            return v.asInt();
        }

        float requiredFloat(Key key) {
            GgufValue v = get(key);
            if (v == null) {
                throw missing(key);
            }
            return floatOr(key, 0f);
        }

        float floatOr(Key key, float dflt) {
            GgufValue v = get(key);
            if (v == null) {
                return dflt;
            }
            if (v.isArray() || !(v.raw() instanceof Number)) {
                throw new ModelFormatException(file(), key.key() + " must be a number, found " + v.describe());
            }
            return v.asFloat();
        }

        int[] perLayerInt(Key key, int n, int[] dflt) {
            GgufValue v = get(key);
            if (v == null) {
                if (dflt == null) {
                    throw missing(key);
                }
                return dflt.clone();
            }
            int[] r = new int[n];
            if (v.isArray()) {
                if (v.length() != n) {
                    throw new ModelFormatException(file(), key.key() + " has " + v.length() + " entries, expected block_count = " + n);
                }
                try {
                    r = v.asIntArray();
                } catch (IllegalStateException e) {
                    throw new ModelFormatException(file(), key.key() + " must be integers, found " + v.describe());
                }
            } else {
                java.util.Arrays.fill(r, scalarInt(key, v));
            }
            return r;
        }

        boolean[] perLayerBool(Key key, int n) {
            GgufValue v = get(key);
            if (v == null) {
                throw missing(key);
            }
            boolean[] r = new boolean[n];
            if (v.isArray()) {
                if (v.length() != n) {
                    throw new ModelFormatException(file(), key.key() + " has " + v.length() + " entries, expected block_count = " + n);
                }
                if (v.raw() instanceof boolean[] b) {
                    return b.clone();
                }
                if (v.raw() instanceof long[] l) {
                    for (int i = 0; i < n; i++) {
                        r[i] = l[i] != 0;
                    }
                    return r;
                }
                throw new ModelFormatException(file(), key.key() + " must be booleans, found " + v.describe());
            }
            if (v.raw() instanceof Boolean b) {
                java.util.Arrays.fill(r, b);
                return r;
            }
            throw new ModelFormatException(file(), key.key() + " must be a bool array, found " + v.describe());
        }
    }
}
