package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.gguf.GgufFile;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SynthCommandTest {
    @TempDir
    Path dir;

    record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(new CliErrors());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void jsonSummaryDescribesTheWrittenFile() throws Exception {
        Path f = dir.resolve("t.gguf");
        Result r = run("synth", "--preset", "tiny", "--type", "Q8_0", "--seed", "4", "--out", f.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(f.toString(), j.path("path").asText());
        assertEquals(Files.size(f), j.path("bytes").asLong());
        assertEquals("Q8_0", j.path("type").asText());
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(g.tensors().size(), j.path("tensors").asInt());
            long params = g.tensors().stream().mapToLong(t -> t.elements()).sum();
            assertEquals(params, j.path("parameters").asLong());
            assertEquals(7, g.get("general.file_type").asInt()); // LLAMA_FTYPE_MOSTLY_Q8_0
        }
        assertTrue(j.path("seconds").asDouble() >= 0);
    }

    @Test
    void explicitDimensionsAndLayoutOptions() throws Exception {
        Path f = dir.resolve("d.gguf");
        Result r = run("synth", "--preset", "tiny", "--layers", "4", "--layer-pattern", "SF", "--width", "128",
            "--heads", "2", "--head-dim", "32", "--global-head-dim", "64", "--kv-heads", "2", "--global-kv-heads", "1",
            "--experts", "8", "--experts-per-token", "2", "--expert-width", "64", "--dense-width", "64",
            "--vocab", "1100", "--sliding-window", "8", "--context-length", "512", "--split-experts", "--untied-output",
            "--out", f.toString());
        assertEquals(0, r.exit(), r.err());
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(4, g.get("gemma4.block_count").asInt());
            assertEquals(128, g.get("gemma4.embedding_length").asInt());
            assertEquals(8, g.get("gemma4.attention.sliding_window").asInt());
            assertEquals(512, g.get("gemma4.context_length").asInt());
            assertEquals(1100, g.get("tokenizer.ggml.tokens").length());
            assertEquals("[true, false, true, false]", java.util.Arrays.toString(g.get("gemma4.attention.sliding_window_pattern").asBooleanArray()));
            assertEquals("[2, 1, 2, 1]", java.util.Arrays.toString(g.get("gemma4.attention.head_count_kv").asIntArray()));
            assertTrue(g.tensor("output.weight") != null);
            assertTrue(g.tensor("blk.0.ffn_gate_exps.weight") != null);
            assertTrue(g.tensor("blk.0.ffn_gate_up_exps.weight") == null);
            assertEquals(64, g.tensor("rope_freqs.weight").shape()[0] * 2);
        }
        Path dense = dir.resolve("dense.gguf");
        assertEquals(0, run("synth", "--dense", "--out", dense.toString()).exit());
        try (GgufFile g = GgufFile.open(dense)) {
            assertTrue(g.tensor("blk.0.ffn_gate_inp.weight") == null);
        }
    }

    @Test
    void badInputExitsTwoWithOneLine() {
        String out = dir.resolve("x.gguf").toString();
        for (String[] args : new String[][] {
            {"synth", "--preset", "huge", "--out", out},
            {"synth", "--type", "Q3_K", "--out", out},
            {"synth", "--layer-pattern", "FFF", "--out", out},
            {"synth", "--kv-heads", "3", "--out", out},
            {"synth", "--vocab", "10", "--out", out},
            {"synth", "--out", dir.resolve("no/such/dir/x.gguf").toString()}}) {
            Result r = run(args);
            assertEquals(2, r.exit(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("synth: "), r.err());
        }
        assertFalse(Files.exists(dir.resolve("x.gguf")));
        Result help = run("synth", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("--split-experts"));
    }
}
