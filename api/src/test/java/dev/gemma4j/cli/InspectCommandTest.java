package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.gguf.GgufSamples;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufValueType;
import dev.gemma4j.gguf.GgufWriter;
import dev.gemma4j.tensor.GgmlType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class InspectCommandTest {
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

    /** Bytes of the sample model's tensors, from their shapes and the ggml block sizes. */
    private static final long SAMPLE_BYTES = 64 * 4 + 7 * 2 * 34 + 64 * 3 * 2 + 6 * 144 + 5 * 4;
    private static final long SAMPLE_PARAMS = 64 + 64 * 7 + 64 * 3 + 256 * 6 + 5;

    private Path sample() throws Exception {
        Path p = dir.resolve("sample.gguf");
        GgufWriter w = GgufSamples.smallModel(32);
        String[] many = new String[300];
        java.util.Arrays.fill(many, "t");
        w.put("test.long_array", GgufValue.ofStringArray(many));
        w.put("tokenizer.chat_template", GgufValue.ofString("{% for m in messages %}\n{{ m.content }}{% endfor %}"));
        w.write(p);
        return p;
    }

    @Test
    void textListsArchitectureHyperparametersTokenizerTensorsAndTotals() throws Exception {
        Result r = run("inspect", sample().toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.err());
        String o = r.out();
        assertTrue(o.contains("architecture:  gemma4"), o);
        assertTrue(o.matches("(?s).*\\n  block_count\\s+2\\n.*"), o);
        assertTrue(o.contains("attention.sliding_window_pattern"), o);
        assertTrue(o.contains("vocab size:  7"), o);
        assertTrue(o.contains("merges:      1"), o);
        assertTrue(o.contains("bos:         2 (<bos>)"), o);
        assertTrue(o.contains("eos:         1 (<eos>)"), o);
        assertTrue(o.contains("token types: NORMAL 3, UNKNOWN 1, CONTROL 3"), o);
        assertTrue(o.contains("chat template: 51 characters"), o);
        assertTrue(o.contains("test.long_array = ARRAY[STRING] of length 300"), o);
        assertTrue(o.contains("test.arr_f32 = [1.5, -0.0, 1.4E-45, 3.4E38]"), o);
        assertTrue(o.contains("test.arr_nested = [[1, 2, 3], [\"x\", \"yz\"], [[true], [] (ARRAY[FLOAT32])]]"), o);
        assertTrue(o.matches("(?s).*blk\\.0\\.ffn_gate_exps\\.weight\\s+Q4_K\\s+\\[256, 2, 3\\]\\s+864\\n.*"), o);
        assertTrue(o.contains("tensors:     5"), o);
        assertTrue(o.contains("bytes:       " + SAMPLE_BYTES), o);
        assertTrue(o.contains("parameters:  " + SAMPLE_PARAMS), o);
        assertTrue(o.matches("(?s).*Q8_0\\s+1 tensors\\s+476 bytes\\s+448 parameters.*"), o);
        assertTrue(!o.contains("tokenizer.ggml.tokens") && !o.contains("\"<unk>\""), "tokenizer arrays are not dumped");
    }

    @Test
    void jsonHasArchitectureMetadataTensorsAndTotals() throws Exception {
        Path p = sample();
        Result r = run("inspect", p.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("gemma4", j.get("architecture").asText());
        JsonNode md = j.get("metadata");
        assertEquals(255, md.get("test.u8").asInt());
        assertEquals(-2_000_000_000, md.get("test.i32").asInt());
        assertEquals(1L << 53, md.get("test.u64").asLong());
        assertEquals(0.1f, (float) md.get("test.f32").asDouble());
        assertEquals("0.1", md.get("test.f32").toString(), "FLOAT32 printed at float precision");
        assertTrue(md.get("test.bool_true").asBoolean());
        assertEquals("sample ✓ ünïcödé 😀", md.get("general.name").asText());
        assertEquals(5, md.get("test.arr_str").size());
        assertEquals("yz", md.get("test.arr_nested").get(1).get(1).asText());
        assertEquals("{\"type\":\"ARRAY[STRING]\",\"length\":300}", md.get("test.long_array").toString());
        assertEquals(List.of("<pad>", "<eos>", "<bos>", "<unk>", "a", "b", "ab"),
            new ObjectMapper().convertValue(md.get("tokenizer.ggml.tokens"), List.class));
        JsonNode tensors = j.get("tensors");
        assertEquals(5, tensors.size());
        JsonNode q = tensors.get(1);
        assertEquals("token_embd.weight", q.get("name").asText());
        assertEquals("Q8_0", q.get("type").asText());
        assertEquals("[64,7]", q.get("shape").toString());
        assertEquals(7 * 2 * 34, q.get("bytes").asLong());
        assertEquals(256, q.get("offset").asLong(), "after output_norm.weight's 256 bytes");
        JsonNode totals = j.get("totals");
        assertEquals(5, totals.get("tensors").asInt());
        assertEquals(SAMPLE_BYTES, totals.get("bytes").asLong());
        assertEquals(SAMPLE_PARAMS, totals.get("parameters").asLong());
        assertEquals(2, totals.get("types").get("F32").get("tensors").asInt());
        assertEquals(64 + 5, totals.get("types").get("F32").get("parameters").asLong());
        assertEquals(7, j.get("tokenizer").get("vocabSize").asInt());
        assertEquals(3, j.get("tokenizer").get("tokenTypes").get("CONTROL").asInt());
    }

    @Test
    void unsignedSixtyFourBitValuesStayUnsignedInJson() throws Exception {
        Path p = dir.resolve("u64.gguf");
        GgufWriter w = new GgufWriter();
        w.put("big", GgufValue.ofUint64(-1L));
        w.put("bigs", GgufValue.ofIntegerArray(GgufValueType.UINT64, new long[] {-2L, 3}));
        w.write(p);
        JsonNode md = new ObjectMapper().readTree(run("inspect", "--json", p.toString()).out()).get("metadata");
        assertEquals("18446744073709551615", md.get("big").toString());
        assertEquals("[18446744073709551614,3]", md.get("bigs").toString());
        assertTrue(new ObjectMapper().readTree(run("inspect", "--json", p.toString()).out()).get("architecture").isNull());
    }

    @Test
    void splitModelOpensFromAnyShard() throws Exception {
        List<Path> parts = GgufSamples.smallModel(32).writeSplit(dir.resolve("m.gguf"), 2, Long.MAX_VALUE);
        Result r = run("inspect", "--json", parts.get(2).toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(3, j.get("shards").size());
        assertEquals(5, j.get("totals").get("tensors").asInt());
        assertEquals(2, j.get("tensors").get(4).get("shard").asInt());
        assertEquals(0, j.get("tensors").get(4).get("offset").asInt());
        Result text = run("inspect", parts.get(1).toString());
        assertTrue(text.out().contains("shards:        3 (m-00001-of-00003.gguf ... m-00003-of-00003.gguf)"), text.out());
    }

    @Test
    void badFilesExitTwoWithOneLineOnStderr() throws Exception {
        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, "GGUF\u0003\0\0\0junk".getBytes());
        Result r = run("inspect", bad.toString());
        assertEquals(2, r.exit());
        assertEquals("", r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("inspect: " + bad + " at byte 8: file truncated"), r.err());

        Path missing = dir.resolve("missing.gguf");
        r = run("inspect", "--json", missing.toString());
        assertEquals(2, r.exit());
        assertEquals("inspect: no such file: " + missing, r.err().strip());

        r = run("inspect", dir.toString());
        assertEquals(2, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Path shard = dir.resolve("s-00001-of-00002.gguf");
        GgufWriter w = new GgufWriter();
        w.put("split.no", GgufValue.ofInteger(GgufValueType.UINT16, 0));
        w.put("split.count", GgufValue.ofInteger(GgufValueType.UINT16, 2));
        w.addBytes("t", GgmlType.F32, new long[] {1}, new byte[4]);
        w.write(shard);
        r = run("inspect", shard.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("shard 2 of 2 is missing"), r.err());
    }

    @Test
    void helpDocumentsTheJsonArrayRule() {
        Result r = run("inspect", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("{\"type\":\"ARRAY[STRING]\",\"length\":N}"), r.out());
        assertTrue(r.out().contains("--json"), r.out());
    }
}
