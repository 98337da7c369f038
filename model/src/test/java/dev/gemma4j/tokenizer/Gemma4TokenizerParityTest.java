package dev.gemma4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.gguf.GgufFile;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Token ids identical to llama.cpp's (node-llama-cpp 3.21.1, vocabulary-only load of the same GGUF) on the
 * corpus in src/test/resources/tokenizer/parity-corpus.json plus 300 seeded random mixes of special-token
 * texts, whitespace, scripts and rare characters, each with special-token parsing on and off, and the whole
 * lot as one text; the end-of-generation set and the forced BOS agree too. The vocabulary is
 * {@link Gemma4TestVocabulary}'s 262,144-token one. Skipped (not failed) where tools/reference is not
 * installed; CI installs it.
 */
class Gemma4TokenizerParityTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Gemma4Tokenizer tokenizer;
    private static List<String> texts;
    private static List<Boolean> special;
    private static JsonNode reference;

    @BeforeAll
    static void tokenizeWithLlamaCpp() throws Exception {
        Optional<String> why = Gemma4TestVocabulary.unavailableReason();
        Assumptions.assumeTrue(why.isEmpty(), () -> "llama.cpp reference unavailable: " + why.orElse(""));
        Path gguf = Gemma4TestVocabulary.gguf();
        try (GgufFile f = GgufFile.open(gguf)) {
            tokenizer = Gemma4Tokenizer.fromGguf(f);
        }
        List<String> corpus = new ArrayList<>(corpus());
        corpus.addAll(randomTexts(300, 20261128L));
        texts = new ArrayList<>();
        special = new ArrayList<>();
        for (boolean s : new boolean[] {true, false}) {
            for (String t : corpus) {
                texts.add(t);
                special.add(s);
            }
            texts.add(String.join("\n", corpus)); // long lines and every rule at once
            special.add(s);
        }
        ObjectNode input = JSON.createObjectNode();
        input.put("vocabSize", tokenizer.vocabSize());
        ArrayNode cases = input.putArray("cases");
        for (int i = 0; i < texts.size(); i++) {
            cases.addObject().put("text", texts.get(i)).put("special", special.get(i));
        }
        Path dir = Gemma4TestVocabulary.workDir();
        Path in = dir.resolve("parity-cases.json");
        Path out = dir.resolve("parity-reference.json");
        JSON.writeValue(in.toFile(), input);
        Gemma4TestVocabulary.runNode(List.of("tokenize.mjs", gguf.toString(), in.toString(), out.toString()), 300);
        reference = JSON.readTree(out.toFile());
    }

    static List<String> corpus() throws Exception {
        try (InputStream s = Gemma4TokenizerParityTest.class.getResourceAsStream("/tokenizer/parity-corpus.json")) {
            return Arrays.asList(JSON.readValue(s, String[].class));
        }
    }

    private static final String[] FRAGMENTS = {
        "<", ">", "|", "\"", "<|", "|>", "<turn|>", "<|turn>", "<|\"|>", "<|tool_call>", "<tool_call|>",
        "<|tool_response>", "<tool_response|>", "<|channel>", "<channel|>", "<|think|>", "<unused12>", "<bos>",
        "<eos>", "</s>", "<s>", "<table>", " ", "  ", "   ", "\n", "\n\n", "\t", "\r\n", "a", "the", "ing", "Hello",
        "world", "世界", "日本語", "é", "🦙", "😀", "\u200d", "\u2581", "مرحبا", "नमस्ते", "0", "123", "3.14", ".", ",",
        "'s", "{", "}", "(", ")", "=>", "//", "::", "\ufffd", "ß", "İ"};

    /** Seeded random mixes of fragments and single characters (rare ones included). */
    static List<String> randomTexts(int count, long seed) {
        java.util.Random r = new java.util.Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            StringBuilder b = new StringBuilder();
            int parts = r.nextInt(40);
            for (int k = 0; k < parts; k++) {
                switch (r.nextInt(4)) {
                    case 0 -> b.appendCodePoint(0x20 + r.nextInt(0x5f));
                    case 1 -> {
                        int cp = r.nextBoolean() ? 0xA0 + r.nextInt(0xD800 - 0xA0) : 0x10000 + r.nextInt(0x30000);
                        b.appendCodePoint(cp);
                    }
                    default -> b.append(FRAGMENTS[r.nextInt(FRAGMENTS.length)]);
                }
            }
            out.add(b.toString());
        }
        return out;
    }

    private static int[] ids(JsonNode node) {
        int[] r = new int[node.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = node.get(i).asInt();
        }
        return r;
    }

    @Test
    void idsMatchLlamaCpp() {
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            int[] expected = ids(reference.get("cases").get(i).get("ids"));
            int[] actual = tokenizer.encode(texts.get(i), false, special.get(i));
            if (!Arrays.equals(expected, actual)) {
                failures.add("special=" + special.get(i) + " text=" + JSON.valueToTree(texts.get(i))
                    + "\n  llama.cpp: " + Arrays.toString(expected) + "\n  ours:      " + Arrays.toString(actual));
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " of " + texts.size() + " texts differ:\n"
            + String.join("\n", failures.subList(0, Math.min(10, failures.size()))));
    }

    @Test
    void decodeOfEncodeGivesTheTextBack() {
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (!isWellFormed(t) || t.indexOf('\u2581') >= 0) {
                continue; // U+FFFD stands in for lone surrogates; a literal ▁ decodes as a space
            }
            int[] ids = tokenizer.encode(t, false, special.get(i));
            assertEquals(t, tokenizer.decode(ids, true), "round trip, special=" + special.get(i));
        }
    }

    private static boolean isWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1)))) {
                return false;
            }
            if (Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)))) {
                return false;
            }
        }
        return true;
    }

    @Test
    void endOfGenerationSetMatchesLlamaCpp() {
        assertArrayEquals(ids(reference.get("eog")), tokenizer.endOfGenerationIds());
        assertArrayEquals(new int[] {1, 50, 106}, tokenizer.endOfGenerationIds());
    }

    @Test
    void bosIsPrependedAsLlamaCppDoes() {
        assertTrue(reference.get("prependBos").asBoolean());
        assertEquals(reference.get("bos").asInt(), tokenizer.bosId());
        int[] ids = tokenizer.encode("Hello", true, true);
        assertEquals(tokenizer.bosId(), ids[0]);
        assertArrayEquals(tokenizer.encode("Hello", false, true), Arrays.copyOfRange(ids, 1, ids.length));
    }

    @Test
    void corpusIsLargeAndVocabularyIsRealSize() {
        assertTrue(texts.size() >= 800, "parity cases: " + texts.size());
        assertEquals(262_144, tokenizer.vocabSize());
        assertTrue(tokenizer.specialTokenCount(true) > 6_000);
        assertEquals(6, tokenizer.specialTokenCount(false));
    }
}
