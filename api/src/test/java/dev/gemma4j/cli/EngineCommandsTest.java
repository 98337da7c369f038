package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.cpu.LlamaReference;
import dev.gemma4j.cpu.TinyGemma4;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code gemma generate / logits / bench} on a tiny random model; greedy output checked against llama.cpp. */
class EngineCommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "2,10,50,300,20,7,9,100,200,150,33,44,61,17";

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void write() throws Exception {
        model = dir.resolve("tiny.gguf");
        TinyGemma4.standard().withSeed(21).write(model);
    }

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(new CliErrors());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void greedyGenerationAndLogitsAgreeWithLlamaCpp() throws Exception {
        Run g = run("generate", "-m", model.toString(), "--tokens", PROMPT, "-n", "16", "-t", "1", "--json");
        assertEquals(0, g.exit(), g.err());
        JsonNode r = JSON.readTree(g.out());
        int[] prompt = java.util.Arrays.stream(PROMPT.split(",")).mapToInt(Integer::parseInt).toArray();
        assertEquals(prompt.length, r.get("prompt_ids").size());
        assertEquals("length", r.get("finish_reason").asText());
        assertTrue(r.get("timings").get("generation_tokens_per_s").asDouble() > 0);
        LlamaReference.Result ref = LlamaReference.run(model, 384, 256, 512, "F32", List.of(new LlamaReference.Request(prompt, 16))).get(0);
        int[] ids = new int[16];
        for (int i = 0; i < 16; i++) {
            ids[i] = r.get("ids").get(i).asInt();
        }
        assertEquals(java.util.Arrays.toString(ref.greedy()), java.util.Arrays.toString(ids));
        // the same with the weights copied into memory (llama.cpp's --no-mmap)
        Run copied = run("generate", "-m", model.toString(), "--tokens", PROMPT, "-n", "16", "-t", "1", "--json", "--no-mmap");
        assertEquals(0, copied.exit(), copied.err());
        assertEquals(r.get("ids"), JSON.readTree(copied.out()).get("ids"), "--no-mmap");

        Run l = run("logits", "-m", model.toString(), "--tokens", PROMPT, "--top", "3", "--json", "-t", "1");
        assertEquals(0, l.exit(), l.err());
        JsonNode lj = JSON.readTree(l.out());
        assertEquals(prompt.length - 1, lj.get("position").asInt());
        assertEquals(3, lj.get("top").size());
        assertEquals(ref.greedy()[0], lj.get("top").get(0).get("id").asInt());
        double lp0 = ref.logprobs()[lj.get("top").get(0).get("id").asInt()];
        double lp1 = ref.logprobs()[lj.get("top").get(1).get("id").asInt()];
        // logit differences are log-probability differences
        double ours = lj.get("top").get(0).get("logit").asDouble() - lj.get("top").get(1).get("logit").asDouble();
        assertEquals(lp0 - lp1, ours, 3e-3);
    }

    @Test
    void sameSeedSameSampleAndTextPromptsUseTheTokenizer() throws Exception {
        String[] args = {"generate", "-m", model.toString(), "--prompt", "w1w2 w3", "-n", "12", "--temperature", "1.2", "--top-k", "0",
            "--seed", "7", "--json", "-t", "1"};
        Run a = run(args);
        Run b = run(args);
        assertEquals(0, a.exit(), a.err());
        assertEquals(JSON.readTree(a.out()).get("ids"), JSON.readTree(b.out()).get("ids"));
        JsonNode r = JSON.readTree(a.out());
        assertEquals(2, r.get("prompt_ids").get(0).asInt(), "BOS first");
        assertTrue(r.get("text").isTextual());

        Run raw = run("generate", "-m", model.toString(), "--prompt", "w1", "--raw", "-n", "1", "--json", "-t", "1");
        assertEquals(0, raw.exit(), raw.err());
        assertTrue(JSON.readTree(raw.out()).get("prompt_ids").size() < r.get("prompt_ids").size(), "--raw has no chat markup");

        Path conv = dir.resolve("conv.json");
        Files.writeString(conv, "{\"messages\":[{\"role\":\"user\",\"content\":\"w1w2 w3\"}]}");
        Run msgs = run("generate", "-m", model.toString(), "--messages", conv.toString(), "-n", "12", "--temperature", "1.2", "--top-k", "0",
            "--seed", "7", "--json", "-t", "1");
        assertEquals(0, msgs.exit(), msgs.err());
        assertEquals(r.get("prompt_ids"), JSON.readTree(msgs.out()).get("prompt_ids"));
    }

    @Test
    void benchReportsBothTests() throws Exception {
        Run b = run("bench", "-m", model.toString(), "-p", "16", "-n", "4", "-r", "2", "-t", "1", "--json");
        assertEquals(0, b.exit(), b.err());
        JsonNode r = JSON.readTree(b.out());
        assertTrue(r.get("pp_tokens_per_s").asDouble() > 0);
        assertTrue(r.get("tg_tokens_per_s").asDouble() > 0);
        assertEquals(4, r.get("runs").size());
        assertEquals(16, r.get("pp").asInt());
        assertTrue(r.get("mmap").asBoolean(), "weights mapped unless --no-mmap");
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        Run bad = run("logits", "-m", model.toString(), "--tokens", "2,384");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("outside the vocabulary"), bad.err());
        assertEquals(1, bad.err().strip().lines().count());
        Run missing = run("generate", "-m", dir.resolve("nope.gguf").toString(), "--tokens", "2");
        assertEquals(2, missing.exit());
        Run overflow = run("generate", "-m", model.toString(), "--tokens", PROMPT, "-c", "4");
        assertEquals(2, overflow.exit());
        assertTrue(overflow.err().contains("--ctx-size"), overflow.err());
        Run temp = run("generate", "-m", model.toString(), "--tokens", "2", "--top-p", "0");
        assertEquals(2, temp.exit());
    }

    @Test
    void noMmapOfAModelLargerThanMemoryIsRefusedUpFront() throws Exception {
        // the tiny model followed by a sparse tail that makes the file larger than this machine's memory (no disk used)
        Path big = dir.resolve("bigger-than-memory.gguf");
        Files.copy(model, big);
        long total = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize();
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(total + (1L << 30));
        }
        Run mapped = run("generate", "-m", big.toString(), "--tokens", PROMPT, "-n", "2", "-t", "1", "--json");
        assertEquals(0, mapped.exit(), mapped.err());
        Run copied = run("generate", "-m", big.toString(), "--tokens", PROMPT, "-n", "2", "-t", "1", "--json", "--no-mmap");
        assertEquals(2, copied.exit(), copied.err());
        assertTrue(copied.err().contains("(--no-mmap) needs the model's"), copied.err());
        assertEquals(1, copied.err().strip().lines().count(), copied.err());
    }
}
