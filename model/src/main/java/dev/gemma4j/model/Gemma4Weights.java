package dev.gemma4j.model;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.model.Gemma4Config.LayerConfig;
import dev.gemma4j.tensor.TensorFormat;
import java.nio.file.Path;

/**
 * Handles on the tensors of a {@code gemma4} GGUF, by layer (spec §2). Matrices stay in the mapped file
 * in their stored format; only the small 1-D tensors (norm weights, scales, RoPE factors) are decoded to
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
        Loader l = new Loader(gguf);
        int d = cfg.modelWidth();
        Matrix embd = l.matrix("token_embd.weight", d, cfg.vocabSize());
        Matrix out = gguf.tensor("output.weight") != null ? l.matrix("output.weight", d, cfg.vocabSize()) : embd;
        float[] outNorm = l.vector("output_norm.weight", d);
        float[] ropeFreqs = null;
        Layer[] layers = new Layer[cfg.layerCount()];
        for (int il = 0; il < layers.length; il++) {
            LayerConfig lc = cfg.layer(il);
            String p = "blk." + il + ".";
            int hd = lc.headDim();
            int qw = lc.headCount() * hd;
            int kvw = lc.kvHeadCount() * hd;
            if (!lc.sliding() && ropeFreqs == null && gguf.tensor("rope_freqs.weight") != null) {
                ropeFreqs = l.vector("rope_freqs.weight", lc.ropeDims() / 2);
            }
            boolean moe = gguf.tensor(p + "ffn_gate_inp.weight") != null;
            Experts gateUp = null;
            Experts gate = null;
            Experts up = null;
            Experts down = null;
            int ne = cfg.expertCount();
            int fe = lc.expertFfnWidth();
            if (moe) {
                if (ne <= 0 || fe <= 0) {
                    throw new ModelFormatException(gguf.path(), p + "ffn_gate_inp.weight exists but expert_count / expert_feed_forward_length are not set");
                }
                if (gguf.tensor(p + "ffn_gate_up_exps.weight") != null) {
                    gateUp = l.experts(p + "ffn_gate_up_exps.weight", d, 2 * fe, ne);
                } else {
                    gate = l.experts(p + "ffn_gate_exps.weight", d, fe, ne);
                    up = l.experts(p + "ffn_up_exps.weight", d, fe, ne);
                }
                down = l.experts(p + "ffn_down_exps.weight", fe, d, ne);
            }
            float[] scale = l.optionalVector(p + "layer_output_scale.weight", 1);
            layers[il] = new Layer(
                l.vector(p + "attn_norm.weight", d),
                l.matrix(p + "attn_q.weight", d, qw),
                l.matrix(p + "attn_k.weight", d, kvw),
                gguf.tensor(p + "attn_v.weight") != null ? l.matrix(p + "attn_v.weight", d, kvw) : null,
                l.vector(p + "attn_q_norm.weight", hd),
                l.vector(p + "attn_k_norm.weight", hd),
                l.matrix(p + "attn_output.weight", qw, d),
                l.vector(p + "post_attention_norm.weight", d),
                l.vector(p + "ffn_norm.weight", d),
                l.matrix(p + "ffn_gate.weight", d, lc.ffnWidth()),
                l.matrix(p + "ffn_up.weight", d, lc.ffnWidth()),
                l.matrix(p + "ffn_down.weight", lc.ffnWidth(), d),
                moe ? l.vector(p + "post_ffw_norm_1.weight", d) : null,
                moe ? l.matrix(p + "ffn_gate_inp.weight", d, ne) : null,
                moe ? l.vector(p + "ffn_gate_inp.scale", d) : null,
                moe ? l.vector(p + "pre_ffw_norm_2.weight", d) : null,
                gateUp, gate, up, down,
                moe ? l.optionalVector(p + "ffn_down_exps.scale", ne) : null,
                moe ? l.vector(p + "post_ffw_norm_2.weight", d) : null,
                l.vector(p + "post_ffw_norm.weight", d),
                scale == null ? 1f : scale[0]);
        }
        boolean hasGlobal = false;
        for (LayerConfig lc : cfg.layers()) {
            hasGlobal |= !lc.sliding();
        }
        if (hasGlobal && ropeFreqs == null) {
            // llama.cpp requires it as soon as a global layer exists; without it every pair rotates.
            throw new ModelFormatException(gguf.path(), "missing tensor rope_freqs.weight (required when the model has global layers)");
        }
        return new Gemma4Weights(embd, out, outNorm, ropeFreqs, layers);
    }

    private record Loader(GgufFile gguf) {
        private Path file() {
            return gguf.path();
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
            return new Matrix(name, TensorFormat.of(t.type()), gguf.tensorData(t), cols, rows, t.rowBytes());
        }

        Experts experts(String name, int cols, int rows, int count) {
            TensorInfo t = require(name);
            checkShape(t, cols, rows, count);
            return Experts.of(new Matrix(name, TensorFormat.of(t.type()), gguf.tensorData(t), cols, rows * count, t.rowBytes()), rows, count);
        }

        float[] vector(String name, int n) {
            TensorInfo t = require(name);
            checkShape(t, n);
            float[] v = new float[n];
            TensorFormat.of(t.type()).dequantize(gguf.tensorData(t), 0, v, 0, n);
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
