package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Engines;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Greedy chat answers equal llama.cpp's llama-server, token id for token id, on the same synth model and
 * request (references captured by tools/serve/make_references.sh; the prompt token counts must match too).
 * A difference is allowed only at a near-tie: both tokens within 0.03 in log-probability by our numbers (the
 * two implementations' log-probabilities differ by about 0.01-0.02 on this model, as F32 sums in another
 * order), after which the two sequences go their own ways.
 */
class ServeLlamaServerReferenceTest {
    @TempDir
    static Path dir;

    @Test
    void greedyTokenIdsEqualLlamaServers() throws Exception {
        JsonNode refs;
        try (InputStream in = getClass().getResourceAsStream("/serve/llama-server-references.json")) {
            refs = Http.JSON.readTree(in);
        }
        assertEquals("gemma synth --preset tiny --type F32 --seed 7", refs.get("model").asText());
        Path model = dir.resolve("tiny.gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.F32, 7), model, 2);
        GemmaServer server = GemmaServer.start(ServerOptions.defaults());
        try {
            server.load(() -> {
                try {
                    GgufFile g = GgufFile.open(model);
                    EngineOptions eo = new EngineOptions(1024, KvCacheType.F32, 2, EngineOptions.DEFAULT_PREFILL_CHUNK, true);
                    return new ModelHost(g, Engines.open(g, eo, Profile.cpu()), List.of(), "cpu");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (Http http = new Http(server.uri())) {
                int exact = 0;
                for (JsonNode c : refs.get("cases")) {
                    String name = c.get("name").asText();
                    // more alternatives than the capture asked for, to see llama-server's token at a near-tie
                    Http.Reply r = http.post("/v1/chat/completions", ((ObjectNode) c.get("request").deepCopy()).put("top_logprobs", 20));
                    assertEquals(200, r.status(), name + ": " + r.text());
                    assertEquals(c.get("prompt_tokens").asInt(), r.json().get("usage").get("prompt_tokens").asInt(),
                        name + ": prompt tokens");
                    JsonNode ours = r.json().get("choices").get(0).get("logprobs").get("content");
                    JsonNode theirs = c.get("ids");
                    assertEquals(theirs.size(), ours.size(), name);
                    boolean same = true;
                    for (int k = 0; k < theirs.size(); k++) {
                        int a = ours.get(k).get("id").asInt();
                        int b = theirs.get(k).asInt();
                        if (a == b) {
                            continue;
                        }
                        double la = ours.get(k).get("logprob").asDouble();
                        double lb = Double.NaN;
                        for (JsonNode alt : ours.get(k).get("top_logprobs")) {
                            if (alt.get("id").asInt() == b) {
                                lb = alt.get("logprob").asDouble();
                            }
                        }
                        if (!(Math.abs(la - lb) < 0.03)) {
                            fail(name + ": token " + k + " is " + a + " (logprob " + la + "), llama-server's " + b
                                + " (ours " + lb + "); ours " + ours + " theirs " + theirs);
                        }
                        same = false;
                        break; // a near-tie went the other way; the rest is no longer comparable
                    }
                    if (same) {
                        exact++;
                    }
                }
                assertTrue(exact >= refs.get("cases").size() - 1, "at most one near-tie divergence, " + exact + " exact");
            }
        } finally {
            server.close();
        }
    }
}
