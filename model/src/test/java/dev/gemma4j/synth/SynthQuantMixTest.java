package dev.gemma4j.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.tensor.GgmlType;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Q4_K_M / Q6_K / MXFP4_MOE / Q8_0 mixes against llama-quantize itself: the fixture records the type
 * llama-quantize (llama.cpp 80fb11a) gave every tensor of F32 synth models of five shapes (16 and 8
 * experts, untied output with split experts, dense, a width that is not a multiple of 256); it was made
 * by tools/reference/synth-quant-mix.mjs.
 */
class SynthQuantMixTest {

    @Test
    void typesAndOrderMatchLlamaQuantize() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("llama-quantize-mix.json")) {
            root = new ObjectMapper().readTree(in);
        }
        int checked = 0;
        for (Map.Entry<String, JsonNode> c : root.path("cases").properties()) {
            SynthConfig config = config(c.getValue().path("args"));
            SynthTokenizer.Vocab vocab = SynthTokenizer.build(config.vocab());
            List<String> names = new ArrayList<>();
            c.getValue().path("tensors").forEach(n -> names.add(n.asText()));
            for (Map.Entry<String, JsonNode> t : c.getValue().path("types").properties()) {
                SynthModel.Plan plan = SynthModel.plan(config, SynthType.parse(t.getKey()), 1, vocab);
                assertEquals(names, plan.tensors().stream().map(SynthTensor::name).toList(), c.getKey() + ": tensor order");
                for (int i = 0; i < names.size(); i++) {
                    GgmlType expected = GgmlType.byId(t.getValue().get(i).asInt());
                    assertEquals(expected, plan.tensors().get(i).type(), c.getKey() + " " + t.getKey() + " " + names.get(i));
                    checked++;
                }
            }
        }
        assertEquals(true, checked > 3000, "checked " + checked);
    }

    /** The synth command-line options the fixture uses, applied to a preset. */
    static SynthConfig config(JsonNode args) {
        List<String> a = new ArrayList<>();
        args.forEach(x -> a.add(x.asText()));
        SynthConfig.Builder b = SynthConfig.preset(a.get(a.indexOf("--preset") + 1)).toBuilder();
        for (int i = 0; i < a.size(); i++) {
            String v = i + 1 < a.size() ? a.get(i + 1) : null;
            switch (a.get(i)) {
                case "--layers" -> b.layers = Integer.parseInt(v);
                case "--layer-pattern" -> b.patternLetters = v;
                case "--vocab" -> b.vocab = Integer.parseInt(v);
                case "--width" -> b.width = Integer.parseInt(v);
                case "--dense-width" -> b.denseWidth = Integer.parseInt(v);
                case "--expert-width" -> b.expertWidth = Integer.parseInt(v);
                case "--experts" -> b.experts = Integer.parseInt(v);
                case "--experts-per-token" -> b.expertsPerToken = Integer.parseInt(v);
                case "--untied-output" -> b.untiedOutput = true;
                case "--split-experts" -> b.splitExperts = true;
                case "--dense" -> b.dense = true;
                default -> { }
            }
        }
        return b.build();
    }
}
