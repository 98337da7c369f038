package dev.gemma4j.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Inventory, metadata, types and determinism of synthetic models. Expected counts and values come from
 * the spec (§1, §2, §4.0: public dumps of the real 26B-A4B GGUF files), not from our own output.
 */
class SynthModelTest {

    private static SynthTokenizer.Vocab realVocab;

    @TempDir
    Path dir;

    @BeforeAll
    static void buildRealVocab() {
        realVocab = SynthVocabs.real();
    }

    private static SynthModel.Plan full(SynthType type, boolean split) {
        SynthConfig.Builder b = SynthConfig.preset("full").toBuilder();
        b.splitExperts = split;
        return SynthModel.plan(b.build(), type, 1, realVocab);
    }

    @Test
    void fullShapesHaveTheRealTensorCount() {
        // spec §2: 25 S layers x 22 + 5 F layers x 21 + 3 globals = 658; 688 with separate gate/up experts
        assertEquals(658, full(SynthType.F32, false).tensors().size());
        assertEquals(688, full(SynthType.F32, true).tensors().size());
    }

    @Test
    void fullShapesHaveTheRealParameterCount() {
        // spec §1.1: about 25.2 B parameters
        long n = full(SynthType.F32, false).parameterCount();
        assertTrue(n > 25.0e9 && n < 25.4e9, "parameters " + n);
        // quarter: "about 6B parameters"
        long q = SynthModel.plan(SynthConfig.preset("quarter"), SynthType.F32, 1, realVocab).parameterCount();
        assertTrue(q > 5.5e9 && q < 6.5e9, "quarter parameters " + q);
    }

    @Test
    void q4KmMixMatchesThePublicDump() {
        // spec §4.0: public Q4_K_M dump of this model: f32 392, q4_K 192, q6_K 14, q5_0 32, q8_0 28
        Map<String, Integer> counts = full(SynthType.Q4_K_M, false).typeCounts();
        assertEquals(Map.of("F32", 392, "Q4_K", 192, "Q6_K", 14, "Q5_0", 32, "Q8_0", 28), counts);
        SynthModel.Plan p = full(SynthType.Q4_K_M, false);
        assertEquals(GgmlType.Q6_K, p.tensor("token_embd.weight").type()); // spec §2: Q6_K in Q4_K_M
        assertEquals(GgmlType.F32, p.tensor("blk.0.ffn_gate_inp.weight").type());
        // 704- and 2112-wide rows fall back to 32-blocks: Q6_K -> Q8_0 on "more bits" layers, Q4_K -> Q5_0 else
        assertEquals(GgmlType.Q8_0, p.tensor("blk.0.ffn_down_exps.weight").type());
        assertEquals(GgmlType.Q8_0, p.tensor("blk.0.ffn_down.weight").type());
        assertEquals(GgmlType.Q5_0, p.tensor("blk.3.ffn_down_exps.weight").type());
        assertEquals(GgmlType.Q5_0, p.tensor("blk.3.ffn_down.weight").type());
    }

    @Test
    void mxfp4MoeAndPlainMixes() {
        // spec §4.0: MXFP4_MOE: 3-D experts MXFP4, token_embd and other 2-D Q8_0, rest F32
        SynthModel.Plan p = full(SynthType.MXFP4_MOE, false);
        for (SynthTensor t : p.tensors()) {
            GgmlType expected = t.shape().length == 3 ? GgmlType.MXFP4
                : t.shape().length == 2 && !t.name().contains("ffn_gate_inp") ? GgmlType.Q8_0 : GgmlType.F32;
            assertEquals(expected, t.type(), t.name());
        }
        // Q8_0 / BF16 files: all 2-D/3-D weights in that type except the router
        for (SynthType st : new SynthType[] {SynthType.Q8_0, SynthType.BF16}) {
            for (SynthTensor t : full(st, false).tensors()) {
                boolean weight = t.shape().length >= 2 && !t.name().contains("ffn_gate_inp");
                assertEquals(weight ? (st == SynthType.Q8_0 ? GgmlType.Q8_0 : GgmlType.BF16) : GgmlType.F32, t.type(), t.name());
            }
        }
    }

    @Test
    void fullMetadataFollowsTheSpec() {
        Map<String, GgufValue> m = full(SynthType.F32, false).metadata();
        assertEquals("gemma4", m.get("general.architecture").asString());
        assertEquals(30, m.get("gemma4.block_count").asInt());
        assertEquals(2816, m.get("gemma4.embedding_length").asInt());
        assertEquals(262144, m.get("gemma4.context_length").asInt());
        assertEquals(16, m.get("gemma4.attention.head_count").asInt());
        int[] kv = m.get("gemma4.attention.head_count_kv").asIntArray();
        boolean[] swa = m.get("gemma4.attention.sliding_window_pattern").asBooleanArray();
        assertEquals(30, kv.length);
        assertEquals(30, swa.length);
        for (int il = 0; il < 30; il++) {
            boolean full = il % 6 == 5; // full layers 5, 11, 17, 23, 29
            assertEquals(!full, swa[il], "layer " + il);
            assertEquals(full ? 2 : 8, kv[il], "layer " + il);
        }
        assertEquals(512, m.get("gemma4.attention.key_length").asInt());
        assertEquals(512, m.get("gemma4.attention.value_length").asInt());
        assertEquals(256, m.get("gemma4.attention.key_length_swa").asInt());
        assertEquals(256, m.get("gemma4.attention.value_length_swa").asInt());
        assertEquals(512, m.get("gemma4.rope.dimension_count").asInt());
        assertEquals(256, m.get("gemma4.rope.dimension_count_swa").asInt());
        assertEquals(1e6, m.get("gemma4.rope.freq_base").asDouble(), 1);
        assertEquals(1e4, m.get("gemma4.rope.freq_base_swa").asDouble(), 1e-3);
        assertEquals(1024, m.get("gemma4.attention.sliding_window").asInt());
        assertEquals(1e-6, m.get("gemma4.attention.layer_norm_rms_epsilon").asDouble(), 1e-9);
        assertEquals(2112, m.get("gemma4.feed_forward_length").asInt());
        assertEquals(128, m.get("gemma4.expert_count").asInt());
        assertEquals(8, m.get("gemma4.expert_used_count").asInt());
        assertEquals(704, m.get("gemma4.expert_feed_forward_length").asInt());
        assertEquals(30.0, m.get("gemma4.final_logit_softcapping").asDouble(), 1e-6);
        assertEquals(0, m.get("gemma4.attention.shared_kv_layers").asInt());
        assertEquals(0, m.get("gemma4.embedding_length_per_layer_input").asInt());
        assertEquals("gemma4", m.get("tokenizer.ggml.model").asString());
        assertEquals(2, m.get("tokenizer.ggml.bos_token_id").asInt());
        assertEquals(1, m.get("tokenizer.ggml.eos_token_id").asInt());
        assertEquals(3, m.get("tokenizer.ggml.unknown_token_id").asInt());
        assertEquals(0, m.get("tokenizer.ggml.padding_token_id").asInt());
        assertEquals(4, m.get("tokenizer.ggml.mask_token_id").asInt());
        assertTrue(m.get("tokenizer.ggml.add_bos_token").asBoolean());
        assertFalse(m.get("tokenizer.ggml.add_space_prefix").asBoolean());
        assertEquals(64, m.get("general.sampling.top_k").asInt());
        assertEquals(0.95, m.get("general.sampling.top_p").asDouble(), 1e-6);
        assertEquals(1.0, m.get("general.sampling.temp").asDouble(), 1e-6);
        assertTrue(m.get("tokenizer.chat_template").asString().contains("<|turn>"));
    }

    @Test
    void fullTensorShapesFollowTheSpec() {
        SynthModel.Plan p = full(SynthType.F32, false);
        assertArrayEquals(new long[] {2816, 262144}, p.tensor("token_embd.weight").shape());
        assertNull(p.tensor("output.weight"));
        assertArrayEquals(new long[] {2816, 4096}, p.tensor("blk.0.attn_q.weight").shape());
        assertArrayEquals(new long[] {2816, 8192}, p.tensor("blk.5.attn_q.weight").shape());
        assertArrayEquals(new long[] {2816, 2048}, p.tensor("blk.0.attn_v.weight").shape());
        assertNull(p.tensor("blk.5.attn_v.weight"));
        assertArrayEquals(new long[] {2816, 1024}, p.tensor("blk.5.attn_k.weight").shape());
        assertArrayEquals(new long[] {8192, 2816}, p.tensor("blk.5.attn_output.weight").shape());
        assertArrayEquals(new long[] {512}, p.tensor("blk.5.attn_q_norm.weight").shape());
        assertArrayEquals(new long[] {2816, 1408, 128}, p.tensor("blk.0.ffn_gate_up_exps.weight").shape());
        assertArrayEquals(new long[] {704, 2816, 128}, p.tensor("blk.0.ffn_down_exps.weight").shape());
        assertArrayEquals(new long[] {128}, p.tensor("blk.0.ffn_down_exps.scale").shape());
        assertArrayEquals(new long[] {2816}, p.tensor("blk.0.ffn_gate_inp.scale").shape());
        assertArrayEquals(new long[] {1}, p.tensor("blk.0.layer_output_scale.weight").shape());
        assertArrayEquals(new long[] {2816, 704, 128}, full(SynthType.F32, true).tensor("blk.0.ffn_up_exps.weight").shape());
        // spec §2: rope_freqs = [1.0] x 64 ++ [1e30] x 192
        SynthTensor rf = p.tensor("rope_freqs.weight");
        float[] v = ((SynthTensor.Values) rf.fill()).values();
        assertEquals(256, v.length);
        for (int i = 0; i < 256; i++) {
            assertEquals(i < 64 ? 1.0f : 1e30f, v[i], "rope_freqs[" + i + "]");
        }
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherBytes() throws Exception {
        SynthConfig tiny = SynthConfig.preset("tiny");
        Path a = dir.resolve("a.gguf");
        Path b = dir.resolve("b.gguf");
        Path c = dir.resolve("c.gguf");
        SynthModel.write(SynthModel.plan(tiny, SynthType.F32, 7), a, 2);
        SynthModel.write(SynthModel.plan(tiny, SynthType.F32, 7), b, 1); // thread count must not matter
        SynthModel.write(SynthModel.plan(tiny, SynthType.F32, 8), c, 2);
        assertEquals(-1L, Files.mismatch(a, b));
        long diff = Files.mismatch(a, c);
        assertTrue(diff > 0, "different seeds gave identical files");
        assertEquals(Files.size(a), Files.size(c));
    }

    @Test
    void tinyReadsBackWithEveryFeature() throws Exception {
        Path f = dir.resolve("tiny.gguf");
        SynthModel.Plan plan = SynthModel.plan(SynthConfig.preset("tiny"), SynthType.F32, 3);
        SynthModel.Summary s = SynthModel.write(plan, f, 2);
        assertEquals(Files.size(f), s.bytes());
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("gemma4", g.architecture());
            assertEquals(plan.tensors().size(), g.tensors().size());
            for (SynthTensor t : plan.tensors()) {
                TensorInfo ti = g.tensor(t.name());
                assertNotNull(ti, t.name());
                assertArrayEquals(t.shape(), ti.shape(), t.name());
                assertEquals(t.type(), ti.type(), t.name());
            }
            boolean[] swa = g.get("gemma4.attention.sliding_window_pattern").asBooleanArray();
            int full = 0;
            for (int il = 0; il < swa.length; il++) {
                boolean hasV = g.tensor("blk." + il + ".attn_v.weight") != null;
                assertEquals(swa[il], hasV, "attn_v present exactly on sliding layers, layer " + il);
                full += swa[il] ? 0 : 1;
            }
            assertTrue(full >= 1 && full < swa.length, "needs sliding and full layers");
            float[] rf = rows(g, "rope_freqs.weight", 0, 1);
            int hdFull = g.get("gemma4.attention.key_length").asInt();
            assertEquals(hdFull / 2, rf.length);
            for (int i = 0; i < rf.length; i++) {
                assertEquals(i < hdFull / 8 ? 1.0f : 1e30f, rf[i]);
            }
            // values are finite and look like their role: norm weights near 1, projections small
            float[] norm = rows(g, "blk.0.attn_norm.weight", 0, 1);
            for (float x : norm) {
                assertTrue(x > 0.5f && x < 1.5f, "norm weight " + x);
            }
            float[] q = rows(g, "blk.0.attn_q.weight", 0, 4);
            double ss = 0;
            for (float x : q) {
                assertTrue(Float.isFinite(x));
                ss += x * x;
            }
            double rms = Math.sqrt(ss / q.length);
            assertEquals(1 / Math.sqrt(256), rms, 0.2 / Math.sqrt(256), "attn_q rms ~ 1/sqrt(D)");
            assertEquals(SynthModel.chatTemplate(), g.get("tokenizer.chat_template").asString());
        }
    }

    @Test
    void splitAndMergedExpertsAreTheSameModel() throws Exception {
        SynthConfig.Builder b = SynthConfig.preset("tiny").toBuilder();
        Path merged = dir.resolve("merged.gguf");
        SynthModel.write(SynthModel.plan(b.build(), SynthType.F32, 5), merged, 2);
        b.splitExperts = true;
        Path split = dir.resolve("split.gguf");
        SynthModel.Plan sp = SynthModel.plan(b.build(), SynthType.F32, 5);
        SynthModel.write(sp, split, 2);
        try (GgufFile m = GgufFile.open(merged); GgufFile s = GgufFile.open(split)) {
            assertNull(s.tensor("blk.0.ffn_gate_up_exps.weight"));
            assertNull(m.tensor("blk.0.ffn_gate_exps.weight"));
            int width = m.get("gemma4.expert_feed_forward_length").asInt();
            int experts = m.get("gemma4.expert_count").asInt();
            for (int e : new int[] {0, experts - 1}) {
                // merged expert e: rows [0, width) are the gate, [width, 2 width) the up projection
                assertArrayEquals(rows(s, "blk.1.ffn_gate_exps.weight", (long) e * width, width),
                    rows(m, "blk.1.ffn_gate_up_exps.weight", 2L * e * width, width), "gate of expert " + e);
                assertArrayEquals(rows(s, "blk.1.ffn_up_exps.weight", (long) e * width, width),
                    rows(m, "blk.1.ffn_gate_up_exps.weight", 2L * e * width + width, width), "up of expert " + e);
            }
            assertArrayEquals(rows(s, "blk.1.ffn_down_exps.weight", 0, 8), rows(m, "blk.1.ffn_down_exps.weight", 0, 8));
            assertEquals(sp.tensors().size(), s.tensors().size());
        }
    }

    @Test
    void denseAndUntiedVariants() throws Exception {
        SynthConfig.Builder b = SynthConfig.preset("tiny").toBuilder();
        b.dense = true;
        b.untiedOutput = true;
        SynthModel.Plan p = SynthModel.plan(b.build(), SynthType.F32, 1);
        for (SynthTensor t : p.tensors()) {
            assertFalse(t.name().contains("exps") || t.name().contains("gate_inp") || t.name().contains("ffw_norm_"), t.name());
        }
        assertFalse(p.metadata().containsKey("gemma4.expert_count"));
        assertNotNull(p.tensor("output.weight"));
        assertNotNull(p.tensor("blk.0.ffn_gate.weight"));
        assertNotNull(p.tensor("blk.0.post_ffw_norm.weight"));
        // 5 layers: S 14 tensors, F 13 (no attn_v); globals token_embd, output, output_norm, rope_freqs
        assertEquals(4 * 14 + 13 + 4, p.tensors().size());
        Path f = dir.resolve("dense.gguf");
        SynthModel.write(p, f, 2);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(p.tensors().size(), g.tensors().size());
        }
    }

    @ParameterizedTest
    @EnumSource(SynthType.class)
    void everyTypeWritesAFileOfThePlannedSize(SynthType type) throws Exception {
        SynthModel.Plan p = SynthModel.plan(SynthConfig.preset("tiny"), type, 1);
        for (SynthTensor t : p.tensors()) {
            org.junit.jupiter.api.Assumptions.assumeTrue(canQuantize(t.type()),
                type + " needs a " + t.type() + " quantizer, which is not on this branch yet");
        }
        Path f = dir.resolve(type + ".gguf");
        SynthModel.Summary s = SynthModel.write(p, f, 2);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(type.fileType(), g.get("general.file_type").asInt());
            assertEquals(p.tensorBytes(), dataBytes(g), "tensor bytes");
            for (SynthTensor t : p.tensors()) {
                assertEquals(t.type(), g.tensor(t.name()).type(), t.name());
            }
        }
        assertTrue(s.bytes() > p.tensorBytes());
    }

    @Test
    void badConfigurationsAreRejectedWithAClearMessage() {
        SynthConfig.Builder b = SynthConfig.preset("tiny").toBuilder();
        b.patternLetters = "F";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().contains("sliding"), e.getMessage());
        SynthConfig.Builder k = SynthConfig.preset("tiny").toBuilder();
        k.kvHeadsSwa = 3;
        assertTrue(assertThrows(IllegalArgumentException.class, k::build).getMessage().contains("kv heads"));
        SynthConfig.Builder x = SynthConfig.preset("tiny").toBuilder();
        x.expertsPerToken = 99;
        assertTrue(assertThrows(IllegalArgumentException.class, x::build).getMessage().contains("experts per token"));
        assertThrows(IllegalArgumentException.class, () -> SynthConfig.preset("huge"));
        assertThrows(IllegalArgumentException.class, () -> SynthType.parse("Q3_K_S"));
    }

    static boolean canQuantize(GgmlType t) {
        try {
            return TensorFormat.of(t).canQuantize();
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static long dataBytes(GgufFile g) {
        long data = 0;
        for (TensorInfo t : g.tensors()) {
            data += t.byteSize();
        }
        return data;
    }

    /** {@code count} rows of an F32 tensor starting at {@code first}, flattened. */
    static float[] rows(GgufFile g, String name, long first, int count) {
        TensorInfo t = g.tensor(name);
        assertNotNull(t, name);
        assertEquals(GgmlType.F32, t.type(), name);
        int n = (int) t.rowLength();
        float[] out = new float[n * count];
        MemorySegment seg = g.tensorData(t);
        TensorFormat f = TensorFormat.of(GgmlType.F32);
        for (int i = 0; i < count; i++) {
            f.dequantize(seg, (first + i) * t.rowBytes(), out, i * n, n);
        }
        return out;
    }

    static List<String> names(SynthModel.Plan p) {
        return p.tensors().stream().map(SynthTensor::name).toList();
    }
}
