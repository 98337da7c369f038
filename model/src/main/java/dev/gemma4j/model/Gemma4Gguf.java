package dev.gemma4j.model;

/**
 * The one table of GGUF names a {@code gemma4} file uses (llama.cpp's names, spec §1.2 and §2): the
 * architecture's metadata keys and the tensor names. The loader, the synthetic-model writer and the tools
 * read names from here, never from literals of their own, so a rename is one edit.
 */
public final class Gemma4Gguf {

    private Gemma4Gguf() {
    }

    public static final String ARCHITECTURE = "gemma4";
    public static final String KEY_ARCHITECTURE = "general.architecture";
    public static final String KEY_CHAT_TEMPLATE = "tokenizer.chat_template";

    /** {@code gemma4.*} hyperparameter keys; per-layer ones may be a scalar or an array of {@code block_count}. */
    public enum Key {
        BLOCK_COUNT("block_count"),
        CONTEXT_LENGTH("context_length"),
        EMBEDDING_LENGTH("embedding_length"),
        EMBEDDING_LENGTH_PER_LAYER_INPUT("embedding_length_per_layer_input"),
        FEED_FORWARD_LENGTH("feed_forward_length"),
        HEAD_COUNT("attention.head_count"),
        HEAD_COUNT_KV("attention.head_count_kv"),
        KEY_LENGTH("attention.key_length"),
        VALUE_LENGTH("attention.value_length"),
        KEY_LENGTH_SWA("attention.key_length_swa"),
        VALUE_LENGTH_SWA("attention.value_length_swa"),
        RMS_EPSILON("attention.layer_norm_rms_epsilon"),
        SLIDING_WINDOW("attention.sliding_window"),
        SLIDING_WINDOW_PATTERN("attention.sliding_window_pattern"),
        SHARED_KV_LAYERS("attention.shared_kv_layers"),
        ROPE_DIMENSION_COUNT("rope.dimension_count"),
        ROPE_DIMENSION_COUNT_SWA("rope.dimension_count_swa"),
        ROPE_FREQ_BASE("rope.freq_base"),
        ROPE_FREQ_BASE_SWA("rope.freq_base_swa"),
        EXPERT_COUNT("expert_count"),
        EXPERT_USED_COUNT("expert_used_count"),
        EXPERT_FEED_FORWARD_LENGTH("expert_feed_forward_length"),
        FINAL_LOGIT_SOFTCAPPING("final_logit_softcapping");

        private final String suffix;

        Key(String suffix) {
            this.suffix = suffix;
        }

        /** The key without the architecture prefix, as error messages quote it after the prefix. */
        public String suffix() {
            return suffix;
        }

        /** The full key, {@code gemma4.} + suffix. */
        public String key() {
            return ARCHITECTURE + "." + suffix;
        }
    }

    /** Tensors outside the layers. */
    public static final String TOKEN_EMBD = "token_embd.weight";
    public static final String OUTPUT = "output.weight";
    public static final String OUTPUT_NORM = "output_norm.weight";
    public static final String ROPE_FREQS = "rope_freqs.weight";

    /** Tensors of layer {@code il}, named {@code blk.<il>.<suffix>}. */
    public enum LayerTensor {
        ATTN_NORM("attn_norm.weight"),
        ATTN_Q("attn_q.weight"),
        ATTN_K("attn_k.weight"),
        ATTN_V("attn_v.weight"),
        ATTN_Q_NORM("attn_q_norm.weight"),
        ATTN_K_NORM("attn_k_norm.weight"),
        ATTN_OUTPUT("attn_output.weight"),
        POST_ATTENTION_NORM("post_attention_norm.weight"),
        FFN_NORM("ffn_norm.weight"),
        FFN_GATE("ffn_gate.weight"),
        FFN_UP("ffn_up.weight"),
        FFN_DOWN("ffn_down.weight"),
        POST_FFW_NORM_1("post_ffw_norm_1.weight"),
        FFN_GATE_INP("ffn_gate_inp.weight"),
        FFN_GATE_INP_SCALE("ffn_gate_inp.scale"),
        PRE_FFW_NORM_2("pre_ffw_norm_2.weight"),
        FFN_GATE_UP_EXPS("ffn_gate_up_exps.weight"),
        FFN_GATE_EXPS("ffn_gate_exps.weight"),
        FFN_UP_EXPS("ffn_up_exps.weight"),
        FFN_DOWN_EXPS("ffn_down_exps.weight"),
        FFN_DOWN_EXPS_SCALE("ffn_down_exps.scale"),
        POST_FFW_NORM_2("post_ffw_norm_2.weight"),
        POST_FFW_NORM("post_ffw_norm.weight"),
        LAYER_OUTPUT_SCALE("layer_output_scale.weight");

        private final String suffix;

        LayerTensor(String suffix) {
            this.suffix = suffix;
        }

        public String suffix() {
            return suffix;
        }

        /** The tensor's name in layer {@code il}. */
        public String of(int il) {
            return "blk." + il + "." + suffix;
        }
    }
}
