package dev.gemma4j.structured;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.tokenizer.Gemma4TestVocabulary;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.TokenType;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The mask against brute force on the real-size 262,144-token vocabulary (Gemma 3's public tokenizer with
 * Gemma 4's special tokens, {@link Gemma4TestVocabulary}), at token boundaries of realistic outputs: its
 * {@code ▁} spaces, byte tokens, marker tokens and long tokens are what the tiny vocabulary lacks. Skipped
 * when the vocabulary cannot be built here (tools/reference not installed and no cached dump).
 */
class RealVocabularyMaskTest {
    static Gemma4Tokenizer tokenizer;
    static TokenIndex index;

    @BeforeAll
    static void vocabulary() throws Exception {
        boolean cached = Files.exists(Gemma4TestVocabulary.repoRoot().resolve("model/target/tokenizer-parity/gemma3-tokenizer.json"));
        Assumptions.assumeTrue(cached || Gemma4TestVocabulary.unavailableReason().isEmpty(),
            "262k test vocabulary unavailable: run tools/reference/install.sh");
        tokenizer = Gemma4Tokenizer.fromMetadata(Gemma4TestVocabulary.metadata());
        index = TokenIndex.of(tokenizer, tokenizer.endOfGenerationIds());
    }

    static long[] bruteForce(JsonMatcher m, boolean markers) {
        long[] bits = new long[(tokenizer.vocabSize() + 63) / 64];
        int[] ends = tokenizer.endOfGenerationIds();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            TokenType t = tokenizer.tokenType(id);
            boolean ok;
            if (tokenizer.isEndOfGeneration(id)) {
                ok = m.canEnd();
            } else if ((t == TokenType.NORMAL || t == TokenType.BYTE || markers && t == TokenType.USER_DEFINED)
                && !tokenizer.isControl(id)) {
                byte[] b = tokenizer.pieceBytes(id, false);
                ok = b.length > 0 && m.copy().advance(b);
            } else {
                ok = false;
            }
            if (ok) {
                bits[id >>> 6] |= 1L << id;
            }
        }
        assertTrue(ends.length > 0);
        return bits;
    }

    /** Compares at every {@code stride}-th boundary of the output, which the grammar must accept. */
    static void check(JsonGrammar g, String output, boolean parseSpecial, int stride) {
        int[] ids = tokenizer.encode(output, false, parseSpecial);
        JsonConstraint c = new JsonConstraint(index, g);
        JsonMatcher shadow = g.matcher();
        for (int k = 0; k <= ids.length; k++) {
            if (k % stride == 0 || k == ids.length) {
                long[] expected = bruteForce(shadow, g.usesMarkers);
                int at = k;
                assertArrayEquals(expected, c.allowedTokens().clone(), () -> "at token " + at + " of " + output);
                float[] logits = new float[tokenizer.vocabSize()];
                java.util.Arrays.fill(logits, 1f);
                c.process(logits);
                for (int id = 0; id < logits.length; id++) {
                    boolean open = (expected[id >>> 6] & (1L << id)) != 0;
                    if (open != (logits[id] == 1f)) {
                        throw new AssertionError("logit of token " + id + " at token " + at + ": " + logits[id]);
                    }
                }
                if (k < ids.length) {
                    assertTrue(c.isAllowed(ids[k]), "the output's own token " + k + " is masked");
                }
            }
            if (k < ids.length) {
                c.accept(ids[k]);
                assertTrue(shadow.advance(tokenizer.pieceBytes(ids[k], false)));
            }
        }
        assertTrue(c.isComplete() || c.canEnd());
    }

    @Test
    void schemaOutput() {
        check(JsonSchemaCompiler.compile("""
            {"type":"object","properties":{"name":{"type":"string","maxLength":20},"age":{"type":"integer"},
             "tags":{"type":"array","items":{"enum":["math","poetry","engines"]}},"bio":{"type":["string","null"]}},
             "required":["name","age","tags","bio"]}""", false),
            "{\"name\": \"Ada Lovelace\", \"age\": 36, \"tags\": [\"math\", \"poetry\"], \"bio\": \"Wrote the first "
                + "published algorithm — «Note G» — for the Analytical Engine (1843). ✓\"}", false, 3);
    }

    @Test
    void jsonObjectOutput() {
        check(JsonSchemaCompiler.anyObject(), "{\n  \"k\": [1, -2.5e3, true, null, {\"x\": \"\\u00e9\\n\"}],\n  \"z\": \"日本語\"\n}", false, 2);
    }

    @Test
    void toolCallOutput() throws Exception {
        JsonGrammar g = ToolCallGrammar.compile(List.of(new ToolCallGrammar.Tool("get_weather", new ObjectMapper().readTree("""
            {"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}"""))), true, 1, 1);
        check(g, "<|tool_call>call:get_weather{city:<|\"|>São Paulo, \"the city\" | 42<|\"|>,days:3}<tool_call|>", true, 2);
    }
}
