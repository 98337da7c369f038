package dev.gemma4j.model;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.model.Gemma4Config.LayerConfig;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import static dev.gemma4j.model.Gemma4Gguf.LayerTensor.*;
import static dev.gemma4j.model.Gemma4Gguf.OUTPUT;
import static dev.gemma4j.model.Gemma4Gguf.OUTPUT_NORM;
import static dev.gemma4j.model.Gemma4Gguf.ROPE_FREQS;
import static dev.gemma4j.model.Gemma4Gguf.TOKEN_EMBD;

/**
 * Handles on the tensors of a {@code gemma4} GGUF, by layer (spec §2). Matrices stay in their stored format,
 * in the mapped file or in a copy ({@link #load(GgufFile, Gemma4Config, Arena)}); only the small 1-D tensors (norm weights, scales, RoPE factors) are decoded to
 * float arrays. Shapes are checked against the {@link Gemma4Config} at load time.
 *
 * @param outputHead   {@code output.weight}, or {@code token_embd.weight} when the embedding is tied
 * @param ropeFreqs    {@code rope_freqs.weight} (divisors of the global layers' RoPE frequencies), or null
 */
public record Gemma4Weights(Matrix tokenEmbedding, Matrix outputHead, float[] outputNorm, float[] ropeFreqs,
                            Layer[] layers) {

    /**
     * One decoder layer. Optional parts are null: {@code wv} (then V is the raw K projection), the whole
     * MoE group (a dense layer, spec §3.8), {@code expertDownScale}.
     * With the merged expert layout each expert of {@code expertGateUp} holds its gate rows then its up rows;
     * otherwise {@code expertGate} and {@code expertUp} are separate.
     */
    public record Layer(
        float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, float[] qNorm, float[] kNorm, Matrix wo,
        float[] postAttnNorm,
        float[] ffnNorm, Matrix ffnGate, Matrix ffnUp, Matrix ffnDown, float[] postFfwNorm1,
        Matrix router, float[] routerScale, float[] preFfwNorm2,
        Experts expertGateUp, Experts expertGate, Experts expertUp, Experts expertDown, float[] expertDownScale,
        float[] postFfwNorm2, float[] postFfwNorm, float layerOutputScale) {

        public boolean hasExperts() {
            return router != null;
        }
    }

    /** Resolves every tensor of the model; fails with a {@link ModelFormatException} naming the first problem. */
    public static Gemma4Weights load(GgufFile gguf, Gemma4Config cfg) {
        return load(gguf, cfg, null);
    }

    /**
     * As {@link #load(GgufFile, Gemma4Config)}, but with {@code copyInto} not null every tensor is copied out of
     * the mapped file into memory of that arena (which then owns the weights: they live until it is closed).
     * Every tensor, the small ones too: the kernels' call sites then see one kind of segment only (a mapped
     * and a plain native segment are different classes, and a call site that has seen both is compiled less
     * well).
     */
    public static Gemma4Weights load(GgufFile gguf, Gemma4Config cfg, Arena copyInto) {
        Loader l = new Loader(gguf, copyInto);
        int d = cfg.modelWidth();
        Matrix embd = l.matrix(TOKEN_EMBD, d, cfg.vocabSize());
        Matrix out = gguf.tensor(OUTPUT) != null ? l.matrix(OUTPUT, d, cfg.vocabSize()) : embd;
        float[] outNorm = l.vector(OUTPUT_NORM, d);
        float[] ropeFreqs = null;
        Layer[] layers = new Layer[cfg.layerCount()];
        for (int il = 0; il < layers.length; il++) {
            LayerConfig lc = cfg.layer(il);
            int hd = lc.headDim();
            int qw = lc.headCount() * hd;
            int kvw = lc.kvHeadCount() * hd;
            if (!lc.sliding() && ropeFreqs == null && gguf.tensor(ROPE_FREQS) != null) {
                ropeFreqs = l.vector(ROPE_FREQS, lc.ropeDims() / 2);
            }
            boolean moe = gguf.tensor(FFN_GATE_INP.of(il)) != null;
            Experts gateUp = null;
            Experts gate = null;
            Experts up = null;
            Experts down = null;
            int ne = cfg.expertCount();
            int fe = lc.expertFfnWidth();
            if (moe) {
                if (ne <= 0 || fe <= 0) {
                    throw new ModelFormatException(gguf.path(), FFN_GATE_INP.of(il) + " exists but expert_count / expert_feed_forward_length are not set");
                }
                if (gguf.tensor(FFN_GATE_UP_EXPS.of(il)) != null) {
                    gateUp = l.experts(FFN_GATE_UP_EXPS.of(il), d, 2 * fe, ne);
                } else {
                    gate = l.experts(FFN_GATE_EXPS.of(il), d, fe, ne);
                    up = l.experts(FFN_UP_EXPS.of(il), d, fe, ne);
                }
                down = l.experts(FFN_DOWN_EXPS.of(il), fe, d, ne);
            }
            float[] scale = l.optionalVector(LAYER_OUTPUT_SCALE.of(il), 1);
            layers[il] = new Layer(
                l.vector(ATTN_NORM.of(il), d),
                l.matrix(ATTN_Q.of(il), d, qw),
                l.matrix(ATTN_K.of(il), d, kvw),
                gguf.tensor(ATTN_V.of(il)) != null ? l.matrix(ATTN_V.of(il), d, kvw) : null,
                l.vector(ATTN_Q_NORM.of(il), hd),
                l.vector(ATTN_K_NORM.of(il), hd),
                l.matrix(ATTN_OUTPUT.of(il), qw, d),
                l.vector(POST_ATTENTION_NORM.of(il), d),
                l.vector(FFN_NORM.of(il), d),
                l.matrix(FFN_GATE.of(il), d, lc.ffnWidth()),
                l.matrix(FFN_UP.of(il), d, lc.ffnWidth()),
                l.matrix(FFN_DOWN.of(il), lc.ffnWidth(), d),
                moe ? l.vector(POST_FFW_NORM_1.of(il), d) : null,
                moe ? l.matrix(FFN_GATE_INP.of(il), d, ne) : null,
                moe ? l.vector(FFN_GATE_INP_SCALE.of(il), d) : null,
                moe ? l.vector(PRE_FFW_NORM_2.of(il), d) : null,
                gateUp, gate, up, down,
                moe ? l.optionalVector(FFN_DOWN_EXPS_SCALE.of(il), ne) : null,
                moe ? l.vector(POST_FFW_NORM_2.of(il), d) : null,
                l.vector(POST_FFW_NORM.of(il), d),
                scale == null ? 1f : scale[0]);
        }
        boolean hasGlobal = false;
        for (LayerConfig lc : cfg.layers()) {
            hasGlobal |= !lc.sliding();
        }
        if (hasGlobal && ropeFreqs == null) {
            // llama.cpp requires it as soon as a global layer exists; without it every pair rotates.
            throw new ModelFormatException(gguf.path(), "missing tensor " + ROPE_FREQS + " (required when the model has global layers)");
        }
        return new Gemma4Weights(embd, out, outNorm, ropeFreqs, layers);
    }

    private record Loader(GgufFile gguf, Arena copyInto) {
        private Path file() {
            return gguf.path();
        }

        /** The tensor's bytes: the mapped file's, or a copy in {@code copyInto} (page aligned, as the mapping). */
        private MemorySegment data(TensorInfo t) {
            MemorySegment mapped = gguf.tensorData(t);
            if (copyInto == null) {
                return mapped;
            }
            return copyInto.allocate(mapped.byteSize(), 4096).copyFrom(mapped);
        }

        private TensorInfo require(String name) {
            TensorInfo t = gguf.tensor(name);
            if (t == null) {
                throw new ModelFormatException(file(), "missing tensor " + name);
            }
            return t;
        }

        private void checkShape(TensorInfo t, long... expected) {
            long[] s = t.shape();
            boolean ok = true;
            for (int i = 0; i < Math.max(s.length, expected.length); i++) {
                ok &= t.dim(i) == (i < expected.length ? expected[i] : 1);
            }
            if (!ok) {
                throw new ModelFormatException(file(), "tensor " + t.name() + " has shape " + t.shapeString() + ", expected "
                    + java.util.Arrays.toString(expected));
            }
        }

        Matrix matrix(String name, int cols, int rows) {
            TensorInfo t = require(name);
            checkShape(t, cols, rows);
            return new Matrix(name, TensorFormat.of(t.type()), data(t), cols, rows, t.rowBytes());
        }

        Experts experts(String name, int cols, int rows, int count) {
            TensorInfo t = require(name);
            checkShape(t, cols, rows, count);
            return Experts.of(new Matrix(name, TensorFormat.of(t.type()), data(t), cols, rows * count, t.rowBytes()), rows, count);
        }

        float[] vector(String name, int n) {
            TensorInfo t = require(name);
            checkShape(t, n);
            float[] v = new float[n];
            TensorFormat.of(t.type()).dequantize(data(t), 0, v, 0, n);
            for (float x : v) {
                if (!Float.isFinite(x)) {
                    throw new ModelFormatException(file(), "tensor " + name + " holds a non-finite value (" + x + "): the file is corrupt");
                }
            }
            return v;
        }

        float[] optionalVector(String name, int n) {
            return gguf.tensor(name) == null ? null : vector(name, n);
        }
    }
}
