package dev.gemma4j.structured;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.synth.SynthTokenizer;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.TokenType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The trie-walk mask against brute force: a token is allowed iff a copy of the automaton accepts its bytes. */
class TokenMaskTest {
    static final Gemma4Tokenizer TOKENIZER = tinyTokenizer();
    static final int[] ENDS = TOKENIZER.endOfGenerationIds();
    static final TokenIndex INDEX = TokenIndex.of(TOKENIZER, ENDS);

    static Gemma4Tokenizer tinyTokenizer() {
        SynthTokenizer.Vocab v = SynthTokenizer.build(2048);
        TokenType[] types = Arrays.stream(v.types()).mapToObj(TokenType::byId).toArray(TokenType[]::new);
        return Gemma4Tokenizer.of(v.tokens(), types, v.merges(), 2, 1);
    }

    /** The allowed set by definition, token by token. */
    static long[] bruteForce(JsonMatcher m) {
        return bruteForce(m, false);
    }

    /** With {@code markers}, the user-defined marker tokens count as their text (tool-call grammars). */
    static long[] bruteForce(JsonMatcher m, boolean markers) {
        long[] bits = new long[(TOKENIZER.vocabSize() + 63) / 64];
        for (int id = 0; id < TOKENIZER.vocabSize(); id++) {
            TokenType t = TOKENIZER.tokenType(id);
            boolean ok;
            if (isEnd(id)) {
                ok = m.canEnd();
            } else if ((t == TokenType.NORMAL || t == TokenType.BYTE || (markers && t == TokenType.USER_DEFINED))
                && !TOKENIZER.isControl(id)) {
                byte[] b = TOKENIZER.pieceBytes(id, false);
                ok = b.length > 0 && m.copy().advance(b);
            } else {
                ok = false;
            }
            if (ok) {
                bits[id >>> 6] |= 1L << id;
            }
        }
        return bits;
    }

    static boolean isEnd(int id) {
        return Arrays.stream(ENDS).anyMatch(e -> e == id);
    }

    @Test
    void vocabularyCanWriteEveryByte() {
        // byte-fallback tokens make any JSON expressible even where no text token fits
        for (int b = 0; b < 256; b++) {
            assertTrue(TOKENIZER.tokenId(String.format("<0x%02X>", b)) >= 0, "no byte token for " + b);
        }
    }

    @ParameterizedTest
    @FieldSource("dev.gemma4j.structured.SchemaCases#ALL")
    void maskEqualsBruteForceAlongRandomPaths(SchemaCases.Case c) {
        compareAlongRandomPaths(c.name(), c.compile(), false);
    }

    @Test
    void toolCallMaskEqualsBruteForce() throws Exception {
        compareAlongRandomPaths("tools", ToolCallGrammar.compile(ToolCallGrammarTest.tools(), false, 1, 2), true);
    }

    static void compareAlongRandomPaths(String name, JsonGrammar g, boolean markers) {
        SplittableRandom rnd = new SplittableRandom(name.hashCode() * 31L);
        int steps = 0;
        for (int walk = 0; walk < 60 && steps < 200; walk++) {
            JsonConstraint constraint = new JsonConstraint(INDEX, g);
            JsonMatcher shadow = g.matcher();
            for (int step = 0; step < 80; step++) {
                long[] expected = bruteForce(shadow, markers);
                long[] actual = constraint.allowedTokens().clone();
                assertArrayEquals(expected, actual, () -> name + " at " + shadow);
                steps++;
                int[] ids = java.util.stream.IntStream.range(0, TOKENIZER.vocabSize())
                    .filter(i -> (expected[i >>> 6] & (1L << i)) != 0).toArray();
                assertTrue(ids.length > 0, "dead end at " + shadow);
                // prefer short structural tokens now and then, so that walks get past strings
                int pick = ids[rnd.nextInt(ids.length)];
                if (rnd.nextInt(3) == 0) {
                    for (int id : ids) {
                        byte[] b = TOKENIZER.pieceBytes(id, false);
                        if (b.length == 1 && "\"]}0,:tn>".indexOf(b[0]) >= 0 || markers && TOKENIZER.tokenType(id) == TokenType.USER_DEFINED) {
                            pick = id;
                            break;
                        }
                    }
                }
                int chosen = pick;
                constraint.accept(chosen);
                if (isEnd(chosen)) {
                    assertTrue(constraint.isComplete());
                    break;
                }
                assertTrue(shadow.advance(TOKENIZER.pieceBytes(chosen, false)));
            }
        }
        assertTrue(steps >= 40, name + ": only " + steps + " steps checked");
    }

    @Test
    void disallowedTokensGetMinusInfinityAndUnknownTokensAreRejected() {
        JsonConstraint c = new JsonConstraint(INDEX, JsonSchemaCompiler.compile("{\"type\":\"boolean\"}", false));
        float[] logits = new float[TOKENIZER.vocabSize()];
        Arrays.fill(logits, 1f);
        c.process(logits);
        int t = TOKENIZER.tokenId("t");
        assertEquals(1f, logits[t]);
        assertEquals(Float.NEGATIVE_INFINITY, logits[TOKENIZER.tokenId("x")]);
        for (int e : ENDS) {
            assertEquals(Float.NEGATIVE_INFINITY, logits[e]); // nothing written yet: may not end
        }
        assertEquals(Float.NEGATIVE_INFINITY, logits[TOKENIZER.tokenId("<|\"|>")]); // user-defined markers never
        assertThrows(IllegalStateException.class, () -> c.accept(TOKENIZER.tokenId("x")));
        for (byte b : "true".getBytes(StandardCharsets.UTF_8)) {
            c.accept(TOKENIZER.tokenId(new String(new byte[] {b}, StandardCharsets.US_ASCII)));
        }
        assertTrue(c.isComplete());
        Arrays.fill(logits, 1f);
        c.process(logits);
        List<Integer> open = new ArrayList<>();
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] == 1f) {
                open.add(i);
            }
        }
        assertEquals(Arrays.stream(ENDS).boxed().toList(), open);
        c.accept(ENDS[0]);
        assertNull(INDEX.bytes(ENDS[0]));
    }
}
