package dev.gemma4j.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama.cpp itself (node-llama-cpp 3.21.1 from tools/reference, installed by tools/reference/install.sh)
 * loads synthetic models and generates from them: the tiny preset and its variants (split experts, dense,
 * untied output, small sliding window, quantized where the quantizer exists).
 */
class SynthLlamaCppTest {

    @TempDir
    Path dir;

    /** Common words (merged tokens), a blank line (one "\n\n" token) and a character outside the vocab (bytes). */
    static final String PROMPT = "The quick brown fox jumps over the lazy dog.\n\nHello world! \u4E2D Hello world!";

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("tools/reference/package.json"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository root (tools/reference) above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    @Test
    void llamaCppLoadsAndGeneratesFromSynthModels() throws Exception {
        Path ref = repoRoot().resolve("tools/reference");
        Assumptions.assumeTrue(Files.isDirectory(ref.resolve("node_modules/node-llama-cpp")),
            "llama.cpp reference not installed: run tools/reference/install.sh");
        List<Path> models = new ArrayList<>();
        List<SynthConfig> configs = new ArrayList<>();
        SynthConfig tiny = SynthConfig.preset("tiny");
        configs.add(tiny);
        SynthConfig.Builder b = tiny.toBuilder();
        b.splitExperts = true;
        b.untiedOutput = true;
        configs.add(b.build());
        SynthConfig.Builder d = tiny.toBuilder();
        d.dense = true;
        d.slidingWindow = 4;
        configs.add(d.build());
        int i = 0;
        for (SynthConfig c : configs) {
            Path f = dir.resolve("m" + i++ + ".gguf");
            SynthModel.write(SynthModel.plan(c, SynthType.F32, 11), f, 2);
            models.add(f);
        }
        for (SynthType t : new SynthType[] {SynthType.Q8_0, SynthType.Q4_K_M, SynthType.MXFP4_MOE}) {
            SynthModel.Plan p = SynthModel.plan(tiny, t, 11);
            if (p.tensors().stream().allMatch(x -> SynthModelTest.canQuantize(x.type()))) {
                Path f = dir.resolve(t + ".gguf");
                SynthModel.write(p, f, 2);
                models.add(f);
            }
        }
        int tokens = 12;
        List<String> cmd = new ArrayList<>(List.of("node", ref.resolve("synth-generate.mjs").toString(),
            "--tokens", String.valueOf(tokens), "--prompt", PROMPT));
        models.forEach(m -> cmd.add(m.toString()));
        JsonNode results = run(cmd, ref);
        SynthTokenizer.Vocab vocab = SynthTokenizer.build(tiny.vocab());
        assertEquals(models.size(), results.size());
        for (JsonNode r : results) {
            String which = r.path("model").asText();
            assertFalse(r.has("error"), which + ": " + r.path("error").asText());
            assertEquals("gemma4", r.path("architecture").asText(), which);
            JsonNode prompt = r.path("prompt_ids");
            assertEquals(2, prompt.get(0).asInt(), "BOS first");
            assertTrue(prompt.size() > tiny.slidingWindow(), "prompt longer than the sliding window");
            // llama.cpp's tokenization with our vocabulary: merges make multi-character tokens, the blank
            // line is the single newline-run token, and the CJK character falls back to its UTF-8 bytes
            assertTrue(prompt.size() - 1 < PROMPT.length() * 0.6, "too little merging: " + prompt);
            List<Integer> pids = new ArrayList<>();
            prompt.forEach(x -> pids.add(x.asInt()));
            assertTrue(pids.contains(vocab.id("\n\n")), "no \\n\\n token in " + pids);
            int e4 = vocab.id("<0xE4>");
            int i4 = pids.indexOf(e4);
            assertTrue(i4 > 0 && pids.get(i4 + 1) == vocab.id("<0xB8>") && pids.get(i4 + 2) == vocab.id("<0xAD>"),
                "byte fallback for U+4E2D missing in " + pids);
            JsonNode ids = r.path("ids");
            assertEquals(tokens, ids.size(), which);
            Set<Integer> distinct = new HashSet<>();
            for (JsonNode id : ids) {
                int t = id.asInt();
                assertTrue(t >= 0 && t < tiny.vocab(), "token id " + t);
                distinct.add(t);
            }
            assertTrue(distinct.size() > 1, which + ": all generated tokens identical " + ids);
            // neither flat nor a one-hot: the first step's distribution has a clear but not total favourite
            JsonNode first = r.path("first_step");
            double top = first.path("top").get(0).path("p").asDouble();
            double entropy = first.path("entropy").asDouble();
            assertTrue(top > 5.0 / tiny.vocab() && top < 0.999, which + ": top probability " + top);
            assertTrue(entropy > 0.05 && entropy < 0.95 * Math.log(tiny.vocab()), which + ": entropy " + entropy);
        }
    }

    static JsonNode run(List<String> cmd, Path workDir) throws IOException, InterruptedException {
        Path out = Files.createTempFile("synth-ref", ".json");
        Path err = Files.createTempFile("synth-ref", ".err");
        try {
            Process p = new ProcessBuilder(cmd).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(240, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("llama.cpp reference timed out: " + Files.readString(err));
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), "reference failed: " + Files.readString(err));
            return new ObjectMapper().readTree(stdout);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
