package dev.gemma4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.gguf.GgufValue;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The rules of spec §5 and §8.4 on a small hand-made vocabulary, where each expected id sequence follows
 * from the rules by hand. Parity with llama.cpp on a real-size vocabulary is in
 * {@link Gemma4TokenizerParityTest}.
 */
class Gemma4TokenizerTest {

    /** A small vocabulary: text and type per id, in order. */
    private static final class Vocab {
        final List<String> tokens = new ArrayList<>();
        final List<TokenType> types = new ArrayList<>();
        final List<String> merges = new ArrayList<>();

        int add(String text, TokenType type) {
            tokens.add(text);
            types.add(type);
            return tokens.size() - 1;
        }

        int id(String text) {
            return tokens.lastIndexOf(text);
        }

        Map<String, GgufValue> metadata() {
            return Gemma4Tokenizer.metadataOf(tokens.toArray(String[]::new), types.toArray(TokenType[]::new),
                merges.toArray(String[]::new), 2, 1);
        }

        Gemma4Tokenizer build() {
            return Gemma4Tokenizer.fromMetadata(metadata());
        }
    }

    private static Vocab base() {
        Vocab v = new Vocab();
        v.add("<pad>", TokenType.CONTROL);
        v.add("<eos>", TokenType.NORMAL); // as some GGUFs have it; llama.cpp makes it CONTROL
        v.add("<bos>", TokenType.CONTROL);
        v.add("<unk>", TokenType.UNKNOWN);
        for (int b = 0; b < 256; b++) {
            v.add(String.format("<0x%02X>", b), TokenType.BYTE);
        }
        for (String t : new String[] {"a", "b", "c", "ab", "bc", "abc", "▁", "▁a", "\n", "\n\n", "h", "i", "hi",
                                      "x", "<", ">", "|"}) {
            v.add(t, TokenType.NORMAL);
        }
        v.add("<turn|>", TokenType.CONTROL);
        v.add("<|turn>", TokenType.CONTROL);
        v.add("<|\"|>", TokenType.USER_DEFINED);
        v.add("<|tool_response>", TokenType.USER_DEFINED);
        v.add("<|\"|>x", TokenType.CONTROL); // longer special sharing a prefix
        v.add("<unused7>", TokenType.UNUSED);
        v.merges.addAll(List.of("b c", "a b", "a bc", "▁ a", "\n \n", "h i"));
        return v;
    }

    private static byte[] bytes(int... b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = (byte) b[i];
        }
        return r;
    }

    @Test
    void mergesLowestRankFirst() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        // "b c" (rank 0) before "a b" (rank 1): a + bc, then "a bc" gives abc
        assertArrayEquals(new int[] {v.id("abc")}, t.encode("abc", false, true));
        assertArrayEquals(new int[] {v.id("ab")}, t.encode("ab", false, true));
        assertArrayEquals(new int[] {v.id("abc"), v.id("hi")}, t.encode("abchi", false, true));
    }

    @Test
    void equalRanksMergeLeftmostFirst() {
        Vocab v = base();
        v.add("aa", TokenType.NORMAL);
        v.merges.add("a a");
        Gemma4Tokenizer t = v.build();
        assertArrayEquals(new int[] {v.id("aa"), v.id("a")}, t.encode("aaa", false, true));
        assertArrayEquals(new int[] {v.id("aa"), v.id("aa")}, t.encode("aaaa", false, true));
    }

    @Test
    void spacesBecomeMarksAndBosIsAlwaysAdded() {
        Vocab v = base();
        Map<String, GgufValue> md = v.metadata();
        md.put(Gemma4Tokenizer.KEY_ADD_BOS, GgufValue.ofBool(false)); // older conversions; gemma4 ignores it
        Gemma4Tokenizer t = Gemma4Tokenizer.fromMetadata(md);
        assertArrayEquals(new int[] {2, v.id("▁a"), v.id("▁")}, t.encode(" a ", true, true));
        assertArrayEquals(new int[] {2}, t.encode("", true, true));
        assertArrayEquals(new int[0], t.encode("", false, true));
    }

    @Test
    void unknownCharactersFallBackToByteTokens() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        assertArrayEquals(new int[] {v.id("<0xC3>"), v.id("<0xA9>"), v.id("a")}, t.encode("éa", false, true));
        // a merge result that is no vocabulary token falls back to the bytes of its whole text
        v.merges.add("x x");
        t = v.build();
        assertArrayEquals(new int[] {v.id("<0x78>"), v.id("<0x78>")}, t.encode("xx", false, true));
    }

    @Test
    void newlineRunsAreWholeTokensWhenInTheVocabulary() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        assertArrayEquals(new int[] {v.id("a"), v.id("\n\n"), v.id("b")}, t.encode("a\n\nb", false, true));
        // three newlines are no token: BPE merges "\n \n" at the leftmost pair
        assertArrayEquals(new int[] {v.id("\n\n"), v.id("\n")}, t.encode("\n\n\n", false, true));
    }

    @Test
    void invalidUtf8BytesBecomeReplacementCharacters() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        int[] fffd = {v.id("<0xEF>"), v.id("<0xBF>"), v.id("<0xBD>")};
        assertArrayEquals(new int[] {v.id("a"), fffd[0], fffd[1], fffd[2], v.id("b")},
            t.encode(bytes('a', 0xFF, 'b'), false, true));
        // a truncated 3-byte sequence: each byte is replaced on its own, decoding resumes at the next byte
        assertArrayEquals(new int[] {fffd[0], fffd[1], fffd[2], fffd[0], fffd[1], fffd[2], v.id("a")},
            t.encode(bytes(0xE2, 0x82, 'a'), false, true));
        // a lone surrogate in a Java string is encoded as U+FFFD
        assertArrayEquals(new int[] {v.id("a"), fffd[0], fffd[1], fffd[2]}, t.encode("a\uD800", false, true));
    }

    @Test
    void specialTokensSplitLongestFirstWhenParsingSpecials() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        int q = v.id("<|\"|>");
        int qx = v.id("<|\"|>x");
        assertArrayEquals(new int[] {v.id("a"), qx, q, v.id("b")}, t.encode("a<|\"|>x<|\"|>b", false, true));
        assertArrayEquals(new int[] {v.id("<turn|>"), v.id("hi"), v.id("<turn|>")},
            t.encode("<turn|>hi<turn|>", false, true));
    }

    @Test
    void withoutSpecialParsingOnlyUserDefinedTokensSplit() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        int q = v.id("<|\"|>");
        // <|"|>x is CONTROL: not split; <|"|> is USER_DEFINED: split
        assertArrayEquals(new int[] {q, v.id("x")}, t.encode("<|\"|>x", false, false));
        int[] turn = t.encode("<turn|>", false, false);
        assertFalse(turn.length == 1 && turn[0] == v.id("<turn|>"));
        // <|tool_response> is USER_DEFINED in the file but an end-of-generation token, hence CONTROL
        int[] tr = t.encode("<|tool_response>", false, false);
        assertTrue(tr.length > 1);
        assertArrayEquals(new int[] {v.id("<|tool_response>")}, t.encode("<|tool_response>", false, true));
    }

    @Test
    void endOfGenerationTokensBecomeControl() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        assertArrayEquals(new int[] {1, v.id("<turn|>"), v.id("<|tool_response>")}, t.endOfGenerationIds());
        assertTrue(t.isControl(1));
        assertEquals(TokenType.NORMAL, t.tokenType(1));
        assertEquals("", t.decode(new int[] {1}, false));
        assertEquals("<eos>", t.decode(new int[] {1}, true));
        assertEquals("", t.decode(new int[] {v.id("<|tool_response>")}, false));
        assertTrue(t.isEndOfGeneration(v.id("<turn|>")));
        assertFalse(t.isEndOfGeneration(v.id("<|turn>")));
    }

    @Test
    void decodesEachTokenTypeAsLlamaCppDoes() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        assertEquals(" a", t.decode(new int[] {v.id("▁a")}, false));
        assertEquals("<|\"|>", t.decode(new int[] {v.id("<|\"|>")}, false));
        assertEquals("", t.decode(new int[] {v.id("<|turn>")}, false));
        assertEquals("<|turn>", t.decode(new int[] {v.id("<|turn>")}, true));
        assertEquals("", t.decode(new int[] {v.id("<unused7>")}, true));
        assertEquals("", t.decode(new int[] {3}, false));
        assertEquals("<unk>", t.decode(new int[] {3}, true));
        assertEquals("é", t.decode(new int[] {v.id("<0xC3>"), v.id("<0xA9>")}, false));
        assertArrayEquals(new byte[] {(byte) 0xC3}, t.pieceBytes(v.id("<0xC3>"), false));
    }

    @Test
    void streamingDecoderHoldsPartialCharactersAndFlushesTheRest() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        int[] euro = {v.id("<0xE2>"), v.id("<0x82>"), v.id("<0xAC>")}; // €
        StreamingDecoder d = t.streamingDecoder(false);
        assertEquals("a", d.accept(v.id("a")));
        assertEquals("", d.accept(euro[0]));
        assertEquals("", d.accept(euro[1]));
        assertTrue(d.hasPending());
        assertEquals("€", d.accept(euro[2]));
        assertEquals(" a", d.accept(v.id("▁a")));
        assertEquals("", d.accept(v.id("<0xF0>")));
        assertEquals("\uFFFD", d.flush());
        assertFalse(d.hasPending());
        // a broken sequence followed by text is emitted at once
        StreamingDecoder d2 = t.streamingDecoder(false);
        assertEquals("", d2.accept(euro[0]));
        assertEquals("\uFFFDb", d2.accept(v.id("b")));
    }

    @Test
    void streamingEqualsWholeDecodeOnGemma4Text() {
        Vocab v = base();
        Gemma4Tokenizer t = v.build();
        String text = "€ abc\n\nhi é<turn|>x 😀";
        int[] ids = t.encode(text, true, true);
        StreamingDecoder d = t.streamingDecoder(true);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(d.accept(id));
        }
        sb.append(d.flush());
        assertEquals(t.decode(ids, true), sb.toString());
        assertEquals("<bos>" + text, sb.toString());
    }

    // ---------------------------------------------------------------- load errors

    private static TokenizerException loadError(Map<String, GgufValue> md) {
        return assertThrows(TokenizerException.class, () -> Gemma4Tokenizer.fromMetadata(md));
    }

    @Test
    void missingOrMalformedMetadataIsALoadErrorNamingTheKey() {
        Map<String, GgufValue> md = base().metadata();
        md.remove(Gemma4Tokenizer.KEY_MODEL);
        assertEquals(Gemma4Tokenizer.KEY_MODEL, loadError(md).key());

        md = base().metadata();
        md.put(Gemma4Tokenizer.KEY_MODEL, GgufValue.ofString("llama"));
        TokenizerException e = loadError(md);
        assertTrue(e.getMessage().contains("'llama'"), e.getMessage());

        md = base().metadata();
        md.put(Gemma4Tokenizer.KEY_TOKENS, GgufValue.ofInt32Array(1, 2));
        assertEquals(Gemma4Tokenizer.KEY_TOKENS, loadError(md).key());

        md = base().metadata();
        md.remove(Gemma4Tokenizer.KEY_MERGES);
        assertEquals(Gemma4Tokenizer.KEY_MERGES, loadError(md).key());

        md = base().metadata();
        md.put(Gemma4Tokenizer.KEY_MERGES, GgufValue.ofStringArray("a b", "nospace"));
        e = loadError(md);
        assertEquals(Gemma4Tokenizer.KEY_MERGES, e.key());
        assertTrue(e.getMessage().contains("entry 1"), e.getMessage());

        md = base().metadata();
        md.put(Gemma4Tokenizer.KEY_TOKEN_TYPE, GgufValue.ofInt32Array(1, 1, 1));
        assertTrue(loadError(md).getMessage().contains("entries for"));

        Vocab v = base();
        v.types.set(10, TokenType.NORMAL);
        md = v.metadata();
        long[] types = md.get(Gemma4Tokenizer.KEY_TOKEN_TYPE).asLongArray().clone();
        types[7] = 9;
        md.put(Gemma4Tokenizer.KEY_TOKEN_TYPE, GgufValue.ofIntegerArray(dev.gemma4j.gguf.GgufValueType.INT32, types));
        assertTrue(loadError(md).getMessage().contains("token 7 has unknown type 9"));

        md = base().metadata();
        md.put(Gemma4Tokenizer.KEY_BOS, GgufValue.ofUint32(1_000_000));
        assertEquals(Gemma4Tokenizer.KEY_BOS, loadError(md).key());

        md = base().metadata();
        md.remove(Gemma4Tokenizer.KEY_BOS);
        assertEquals(Gemma4Tokenizer.KEY_BOS, loadError(md).key());

        Vocab bad = base();
        bad.add("<0xZZ>", TokenType.BYTE);
        assertEquals(Gemma4Tokenizer.KEY_TOKEN_TYPE, loadError(bad.metadata()).key());

        md = new LinkedHashMap<>();
        assertTrue(loadError(md).getMessage().contains("missing"));
    }

    @Test
    void utf8TextAndBytesAgree() {
        Gemma4Tokenizer t = base().build();
        String s = "abc hi\n\n<turn|>é";
        assertArrayEquals(t.encode(s.getBytes(StandardCharsets.UTF_8), true, true), t.encode(s, true, true));
    }
}
