package dev.gemma4j.cpu;

import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufWriter;
import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Small random-weight {@code gemma4} GGUFs for engine tests, loadable by llama.cpp (so they double as
 * parity fixtures): a minimal BPE vocabulary with the Gemma 4 special tokens, the full tensor set of
 * spec §2, and switches for the variants the engine must handle.
 */
public record TinyGemma4(
    long seed, int width, int vocab, boolean[] sliding, int heads, int kvHeadsSliding, int kvHeadsGlobal,
    int headDimSliding, int headDimGlobal, int window, int ffn, int experts, int expertsUsed, int expertFfn,
    boolean splitExperts, boolean tied, boolean attnVOnGlobal, boolean denseLayers, boolean scales, GgmlType weightType) {

    /** A 6-layer MoE model: 5 sliding layers (window 8) + 1 global, merged experts, tied head. */
    public static TinyGemma4 standard() {
        return new TinyGemma4(42, 64, 384, new boolean[] {true, true, false, true, true, true}, 4, 2, 1, 16, 32, 8, 96, 8, 2, 32,
            false, true, false, false, true, GgmlType.F32);
    }

    public TinyGemma4 withSeed(long s) {
        return new TinyGemma4(s, width, vocab, sliding, heads, kvHeadsSliding, kvHeadsGlobal, headDimSliding, headDimGlobal, window, ffn,
            experts, expertsUsed, expertFfn, splitExperts, tied, attnVOnGlobal, denseLayers, scales, weightType);
    }

    public TinyGemma4 withVariant(boolean split, boolean tiedHead, boolean vOnGlobal, boolean dense) {
        return new TinyGemma4(seed, width, vocab, sliding, heads, kvHeadsSliding, kvHeadsGlobal, headDimSliding, headDimGlobal, window, ffn,
            experts, expertsUsed, expertFfn, split, tiedHead, vOnGlobal, dense, scales, weightType);
    }

    public TinyGemma4 withWeightType(GgmlType t) {
        return new TinyGemma4(seed, width, vocab, sliding, heads, kvHeadsSliding, kvHeadsGlobal, headDimSliding, headDimGlobal, window, ffn,
            experts, expertsUsed, expertFfn, splitExperts, tied, attnVOnGlobal, denseLayers, scales, t);
    }

    public TinyGemma4 withWindow(int w) {
        return new TinyGemma4(seed, width, vocab, sliding, heads, kvHeadsSliding, kvHeadsGlobal, headDimSliding, headDimGlobal, w, ffn,
            experts, expertsUsed, expertFfn, splitExperts, tied, attnVOnGlobal, denseLayers, scales, weightType);
    }

    public void write(Path file) throws IOException {
        Random rnd = new Random(seed);
        int n = sliding.length;
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.ofString("gemma4"));
        w.put("general.name", GgufValue.ofString("tiny-gemma4-test"));
        w.put("gemma4.block_count", GgufValue.ofUint32(n));
        w.put("gemma4.embedding_length", GgufValue.ofUint32(width));
        w.put("gemma4.context_length", GgufValue.ofUint32(4096));
        w.put("gemma4.attention.head_count", GgufValue.ofUint32(heads));
        int[] kv = new int[n];
        for (int i = 0; i < n; i++) {
            kv[i] = sliding[i] ? kvHeadsSliding : kvHeadsGlobal;
        }
        w.put("gemma4.attention.head_count_kv", GgufValue.ofInt32Array(kv));
        w.put("gemma4.attention.key_length", GgufValue.ofUint32(headDimGlobal));
        w.put("gemma4.attention.value_length", GgufValue.ofUint32(headDimGlobal));
        w.put("gemma4.attention.key_length_swa", GgufValue.ofUint32(headDimSliding));
        w.put("gemma4.attention.value_length_swa", GgufValue.ofUint32(headDimSliding));
        w.put("gemma4.rope.dimension_count", GgufValue.ofUint32(headDimGlobal));
        w.put("gemma4.rope.dimension_count_swa", GgufValue.ofUint32(headDimSliding));
        w.put("gemma4.rope.freq_base", GgufValue.ofFloat32(1_000_000f));
        w.put("gemma4.rope.freq_base_swa", GgufValue.ofFloat32(10_000f));
        w.put("gemma4.attention.sliding_window", GgufValue.ofUint32(window));
        w.put("gemma4.attention.sliding_window_pattern", GgufValue.ofBoolArray(sliding.clone()));
        w.put("gemma4.attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(1e-6f));
        w.put("gemma4.feed_forward_length", GgufValue.ofUint32(ffn));
        if (!denseLayers) {
            w.put("gemma4.expert_count", GgufValue.ofUint32(experts));
            w.put("gemma4.expert_used_count", GgufValue.ofUint32(expertsUsed));
            w.put("gemma4.expert_feed_forward_length", GgufValue.ofUint32(expertFfn));
        }
        w.put("gemma4.final_logit_softcapping", GgufValue.ofFloat32(30f));
        w.put("gemma4.embedding_length_per_layer_input", GgufValue.ofUint32(0));
        w.put("gemma4.attention.shared_kv_layers", GgufValue.ofUint32(0));
        vocabulary(w);

        matrix(w, rnd, "token_embd.weight", width, vocab, 0.3f);
        if (!tied) {
            matrix(w, rnd, "output.weight", width, vocab, 0.3f);
        }
        w.addF32("output_norm.weight", new long[] {width}, normWeights(rnd, width));
        float[] freqs = new float[headDimGlobal / 2];
        for (int i = 0; i < freqs.length; i++) {
            freqs[i] = i < freqs.length / 4 ? 1f : 1e30f;
        }
        w.addF32("rope_freqs.weight", new long[] {freqs.length}, freqs);
        for (int il = 0; il < n; il++) {
            String p = "blk." + il + ".";
            int hd = sliding[il] ? headDimSliding : headDimGlobal;
            int nkv = kv[il];
            w.addF32(p + "attn_norm.weight", new long[] {width}, normWeights(rnd, width));
            matrix(w, rnd, p + "attn_q.weight", width, heads * hd, 1f / (float) Math.sqrt(width));
            matrix(w, rnd, p + "attn_k.weight", width, nkv * hd, 1f / (float) Math.sqrt(width));
            if (sliding[il] || attnVOnGlobal) {
                matrix(w, rnd, p + "attn_v.weight", width, nkv * hd, 1f / (float) Math.sqrt(width));
            }
            w.addF32(p + "attn_q_norm.weight", new long[] {hd}, normWeights(rnd, hd));
            w.addF32(p + "attn_k_norm.weight", new long[] {hd}, normWeights(rnd, hd));
            matrix(w, rnd, p + "attn_output.weight", heads * hd, width, 1f / (float) Math.sqrt(heads * hd));
            w.addF32(p + "post_attention_norm.weight", new long[] {width}, normWeights(rnd, width));
            w.addF32(p + "ffn_norm.weight", new long[] {width}, normWeights(rnd, width));
            matrix(w, rnd, p + "ffn_gate.weight", width, ffn, 1f / (float) Math.sqrt(width));
            matrix(w, rnd, p + "ffn_up.weight", width, ffn, 1f / (float) Math.sqrt(width));
            matrix(w, rnd, p + "ffn_down.weight", ffn, width, 1f / (float) Math.sqrt(ffn));
            if (!denseLayers) {
                w.addF32(p + "post_ffw_norm_1.weight", new long[] {width}, normWeights(rnd, width));
                w.addF32(p + "ffn_gate_inp.weight", new long[] {width, experts}, gaussian(rnd, width * experts, 1f));
                float[] rs = new float[width];
                for (int i = 0; i < width; i++) {
                    rs[i] = 1f + 2f * rnd.nextFloat();
                }
                w.addF32(p + "ffn_gate_inp.scale", new long[] {width}, rs);
                w.addF32(p + "pre_ffw_norm_2.weight", new long[] {width}, normWeights(rnd, width));
                float s = 1f / (float) Math.sqrt(width);
                if (splitExperts) {
                    matrix(w, rnd, p + "ffn_gate_exps.weight", new long[] {width, expertFfn, experts}, s);
                    matrix(w, rnd, p + "ffn_up_exps.weight", new long[] {width, expertFfn, experts}, s);
                } else {
                    matrix(w, rnd, p + "ffn_gate_up_exps.weight", new long[] {width, 2L * expertFfn, experts}, s);
                }
                matrix(w, rnd, p + "ffn_down_exps.weight", new long[] {expertFfn, width, experts}, 1f / (float) Math.sqrt(expertFfn));
                if (scales) {
                    float[] ds = new float[experts];
                    for (int e = 0; e < experts; e++) {
                        ds[e] = 0.5f + rnd.nextFloat();
                    }
                    w.addF32(p + "ffn_down_exps.scale", new long[] {experts}, ds);
                }
                w.addF32(p + "post_ffw_norm_2.weight", new long[] {width}, normWeights(rnd, width));
            }
            w.addF32(p + "post_ffw_norm.weight", new long[] {width}, normWeights(rnd, width));
            if (scales) {
                w.addF32(p + "layer_output_scale.weight", new long[] {1}, new float[] {0.6f + 0.8f * rnd.nextFloat()});
            }
        }
        w.write(file);
    }

    /** Token ids: 0 pad, 1 eos, 2 bos, 3 unk, 4 mask, 5 "\n", 6 {@code <|turn>}, 7 {@code <turn|>}, 8 {@code <|tool_response>}, then bytes, then words. */
    private void vocabulary(GgufWriter w) {
        List<String> tokens = new ArrayList<>(List.of("<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "\n", "<|turn>", "<turn|>",
            "<|tool_response>"));
        List<Integer> types = new ArrayList<>(List.of(3, 3, 3, 2, 3, 1, 3, 3, 4));
        for (int b = 0; b < 256 && tokens.size() < vocab; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types.add(6);
        }
        for (int i = 0; tokens.size() < vocab; i++) {
            tokens.add("w" + i);
            types.add(1);
        }
        float[] scores = new float[vocab];
        java.util.Arrays.fill(scores, -1000f);
        int[] tt = types.stream().mapToInt(Integer::intValue).toArray();
        w.put("tokenizer.ggml.model", GgufValue.ofString("gemma4"));
        w.put("tokenizer.ggml.tokens", GgufValue.ofStringArray(tokens.toArray(String[]::new)));
        w.put("tokenizer.ggml.scores", GgufValue.ofFloat32Array(scores));
        w.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(tt));
        w.put("tokenizer.ggml.merges", GgufValue.ofStringArray("w 0"));
        w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUint32(2));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUint32(1));
        w.put("tokenizer.ggml.unknown_token_id", GgufValue.ofUint32(3));
        w.put("tokenizer.ggml.padding_token_id", GgufValue.ofUint32(0));
        w.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(true));
    }

    private static float[] normWeights(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = 0.7f + 0.6f * rnd.nextFloat();
        }
        return v;
    }

    private static float[] gaussian(Random rnd, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian() * std;
        }
        return v;
    }

    private void matrix(GgufWriter w, Random rnd, String name, int cols, int rows, float std) {
        matrix(w, rnd, name, new long[] {cols, rows}, std);
    }

    private void matrix(GgufWriter w, Random rnd, String name, long[] shape, float std) {
        int cols = (int) shape[0];
        int rows = 1;
        for (int i = 1; i < shape.length; i++) {
            rows *= (int) shape[i];
        }
        float[] v = gaussian(rnd, cols * rows, std);
        GgmlType type = weightType.fitsRow(cols) ? weightType : GgmlType.F32;
        TensorFormat f = TensorFormat.of(type);
        long rowBytes = type.rowBytes(cols);
        byte[] bytes = new byte[(int) (rowBytes * rows)];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(bytes.length);
            for (int r = 0; r < rows; r++) {
                f.quantize(v, r * cols, cols, seg, r * rowBytes);
            }
            MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes, 0, bytes.length);
        }
        w.addBytes(name, type, shape, bytes);
    }

}
