package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code gemma render} on a small GGUF carrying the official Gemma 4 template, checked against
 * llama-server renderings (the chat-edge vectors from the model module's test resources).
 */
class RenderCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    private Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(new CliErrors());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static String resource(String path) throws IOException {
        try (InputStream in = RenderCommandTest.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private Path gguf(String template) throws IOException {
        Path p = dir.resolve("model.gguf");
        new GgufWriter()
            .put("general.architecture", GgufValue.ofString("gemma4"))
            .put("tokenizer.chat_template", GgufValue.ofString(template))
            .write(p);
        return p;
    }

    private Path file(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void printsLlamaServersPromptForTheEmbeddedTemplate() throws IOException {
        Path model = gguf(resource("/chat/templates/google-gemma-4-31B-it.jinja"));
        Path conv = file("conv.json", resource("/chat/chat-edge/s64d-tools.json"));
        Run r = run("render", "--model", model.toString(), "--messages", conv.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(resource("/chat/chat-edge/s64d-tools.txt"), r.out());
    }

    @Test
    void initialTemplateRevisionRendersLikeLlamaServer() throws IOException {
        Path model = gguf(resource("/chat/templates/gemma-4-initial-from-ggml-vocab-gemma-4.jinja"));
        Path conv = file("conv.json", resource("/chat/references-initial/r10-parallel-calls.json"));
        Run r = run("render", "--model", model.toString(), "--messages", conv.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(resource("/chat/references-initial/r10-parallel-calls.txt"), r.out());
    }

    @Test
    void thinkingFlagOverridesTheRequest() throws IOException {
        Path model = gguf(resource("/chat/templates/google-gemma-4-31B-it.jinja"));
        // s64b asks for thinking (default on); s64a is the same conversation rendered with thinking off
        Path conv = file("conv.json", resource("/chat/chat-edge/s64b-think.json"));
        Run r = run("render", "--model", model.toString(), "--messages", conv.toString(), "--thinking", "off");
        assertEquals(0, r.exit(), r.err());
        assertEquals(resource("/chat/chat-edge/s64a-nothink.txt"), r.out());
        Run on = run("render", "--model", model.toString(), "--messages", conv.toString(), "--thinking", "on");
        assertEquals(resource("/chat/chat-edge/s64b-think.txt"), on.out());
    }

    @Test
    void badJsonIsExitTwoWithOneLine() throws IOException {
        Path model = gguf(resource("/chat/templates/google-gemma-4-31B-it.jinja"));
        Path conv = file("conv.json", "{\"messages\": [");
        Run r = run("render", "--model", model.toString(), "--messages", conv.toString());
        assertEquals(2, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("not valid JSON"), r.err());
    }

    @Test
    void imageContentIsRefused() throws IOException {
        Path model = gguf(resource("/chat/templates/google-gemma-4-31B-it.jinja"));
        Path conv = file("conv.json", resource("/chat/chat-edge/e47-image.json"));
        Run r = run("render", "--model", model.toString(), "--messages", conv.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("not supported by this server"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void olderTemplateRevisionIsRefused() throws IOException {
        Path model = gguf(resource("/chat/templates/google-gemma-4-31B-it-interleaved.jinja"));
        Path conv = file("conv.json", resource("/chat/chat-edge/s64b-think.json"));
        Run r = run("render", "--model", model.toString(), "--messages", conv.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("older Gemma 4 revision"), r.err());
    }

    @Test
    void modelWithoutTemplateIsRefused() throws IOException {
        Path p = dir.resolve("bare.gguf");
        new GgufWriter().put("general.architecture", GgufValue.ofString("gemma4")).write(p);
        Path conv = file("conv.json", resource("/chat/chat-edge/s64b-think.json"));
        Run r = run("render", "--model", p.toString(), "--messages", conv.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("tokenizer.chat_template"), r.err());
    }
}
