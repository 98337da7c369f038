package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufWriter;
import dev.gemma4j.tokenizer.Gemma4TestVocabulary;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.TokenType;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code gemma tokenize} on a small vocabulary written as a GGUF; expected ids follow from spec §5.2. */
class TokenizeCommandTest {
    @TempDir
    static Path dir;
    static Path model;
    static List<String> tokens = new ArrayList<>();

    @BeforeAll
    static void writeModel() throws Exception {
        List<TokenType> types = new ArrayList<>();
        String[] control = {"<pad>", "<eos>", "<bos>", "<unk>"};
        for (String c : control) {
            tokens.add(c);
            types.add(TokenType.CONTROL);
        }
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types.add(TokenType.BYTE);
        }
        for (String t : new String[] {"H", "i", "Hi", "▁", "▁Hi", "\n"}) {
            tokens.add(t);
            types.add(TokenType.NORMAL);
        }
        tokens.add("<turn|>");
        types.add(TokenType.CONTROL);
        tokens.add("<|\"|>");
        types.add(TokenType.USER_DEFINED);
        model = dir.resolve("vocab.gguf");
        Gemma4TestVocabulary.writeGguf(Gemma4Tokenizer.metadataOf(tokens.toArray(String[]::new),
            types.toArray(TokenType[]::new), new String[] {"H i", "▁ Hi"}, 2, 1), model);
    }

    private record Result(int exit, String out, String err) {
    }

    private static Result run(String stdin, String... args) {
        CommandLine cl = new CommandLine(new TokenizeCommand(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8))));
        cl.setExecutionExceptionHandler(new CliErrors());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private static int id(String text) {
        return tokens.indexOf(text);
    }

    @Test
    void printsIdsAndPiecesAsJson() throws Exception {
        Result r = run("", "--model", model.toString(), "--text", "Hi Hi<turn|>é", "--json");
        assertEquals(0, r.exit, r.err);
        JsonNode j = new ObjectMapper().readTree(r.out);
        List<Integer> ids = new ArrayList<>();
        j.get("ids").forEach(n -> ids.add(n.asInt()));
        assertEquals(List.of(2, id("Hi"), id("▁Hi"), id("<turn|>"), id("<0xC3>"), id("<0xA9>")), ids);
        List<String> pieces = new ArrayList<>();
        j.get("pieces").forEach(n -> pieces.add(n.asText()));
        assertEquals(List.of("<bos>", "Hi", " Hi", "<turn|>", "<0xC3>", "<0xA9>"), pieces);
    }

    @Test
    void noSpecialKeepsControlTextAsText() throws Exception {
        Result r = run("", "--model", model.toString(), "--text", "<turn|>", "--json", "--no-special", "--no-bos");
        assertEquals(0, r.exit, r.err);
        JsonNode ids = new ObjectMapper().readTree(r.out).get("ids");
        assertEquals(7, ids.size()); // seven characters, each a byte token: no <turn|>
        assertEquals(id("<0x3C>"), ids.get(0).asInt());
    }

    @Test
    void plainOutputListsOneTokenPerLine() {
        Result r = run("", "--model", model.toString(), "--text", "Hi");
        assertEquals(0, r.exit, r.err);
        assertEquals(List.of("      2 -> '<bos>'", String.format("%7d -> 'Hi'", id("Hi"))), r.out.lines().toList());
    }

    @Test
    void jsonlTokenizesOneStringPerLine() throws Exception {
        Result r = run("\"Hi\"\n\n\"\\n\"\n", "--model", model.toString(), "--jsonl", "--no-bos");
        assertEquals(0, r.exit, r.err);
        List<String> lines = r.out.lines().toList();
        assertEquals(2, lines.size());
        assertEquals("{\"ids\":[" + id("Hi") + "],\"pieces\":[\"Hi\"]}", lines.get(0));
        assertEquals("{\"ids\":[" + id("\n") + "],\"pieces\":[\"\\n\"]}", lines.get(1));
        Result bad = run("[1]\n", "--model", model.toString(), "--jsonl");
        assertEquals(2, bad.exit);
        assertTrue(bad.err.contains("line 1: expected a JSON string"), bad.err);
    }

    @Test
    void readsFilesAsBytes() throws Exception {
        Path f = dir.resolve("in.txt");
        Files.write(f, new byte[] {'H', 'i', (byte) 0xFF});
        Result r = run("", "--model", model.toString(), "--file", f.toString(), "--json", "--no-bos");
        assertEquals(0, r.exit, r.err);
        JsonNode ids = new ObjectMapper().readTree(r.out).get("ids");
        assertEquals(List.of(id("Hi"), id("<0xEF>"), id("<0xBF>"), id("<0xBD>")),
            List.of(ids.get(0).asInt(), ids.get(1).asInt(), ids.get(2).asInt(), ids.get(3).asInt()));
    }

    @Test
    void badModelsExitTwoWithOneLine() throws Exception {
        Path noTokenizer = dir.resolve("no-tokenizer.gguf");
        new GgufWriter().put("general.architecture", GgufValue.ofString("gemma4")).write(noTokenizer);
        Result r = run("", "--model", noTokenizer.toString(), "--text", "x");
        assertEquals(2, r.exit);
        assertEquals(1, r.err.lines().count(), r.err);
        assertTrue(r.err.contains("tokenizer.ggml.model: missing"), r.err);

        Path garbage = dir.resolve("garbage.gguf");
        Files.writeString(garbage, "not a gguf file at all");
        r = run("", "--model", garbage.toString(), "--text", "x");
        assertEquals(2, r.exit);
        assertEquals(1, r.err.lines().count(), r.err);

        r = run("", "--model", dir.resolve("absent.gguf").toString(), "--text", "x");
        assertEquals(2, r.exit);
        assertEquals(1, r.err.lines().count(), r.err);
    }

    @Test
    void isASubcommandOfGemma() {
        assertEquals(0, Main.run("tokenize", "--help"));
        assertEquals(2, Main.run("tokenize", "--model", model.toString()));
    }
}
