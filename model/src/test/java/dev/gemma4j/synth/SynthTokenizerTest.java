package dev.gemma4j.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The synthetic vocabulary against the real one's layout (spec §5.1) and BPE well-formedness. */
class SynthTokenizerTest {

    private static SynthTokenizer.Vocab real;
    private static SynthTokenizer.Vocab tiny;

    @BeforeAll
    static void build() {
        real = SynthVocabs.real();
        tiny = SynthTokenizer.build(SynthConfig.preset("tiny").vocab());
    }

    @Test
    void specialTokensAtTheirRealIdsWithTheConvertersTypes() {
        // spec §5.1 (known ids) and the converter's types: the 7 markers USER_DEFINED, other specials CONTROL
        Object[][] expected = {
            {0, "<pad>", 3}, {1, "<eos>", 3}, {2, "<bos>", 3}, {3, "<unk>", 3}, {4, "<mask>", 3},
            {46, "<|tool>", 3}, {47, "<tool|>", 3}, {48, "<|tool_call>", 4}, {49, "<tool_call|>", 4},
            {50, "<|tool_response>", 4}, {51, "<tool_response|>", 4}, {52, "<|\"|>", 4}, {98, "<|think|>", 3},
            {100, "<|channel>", 4}, {101, "<channel|>", 4}, {105, "<|turn>", 3}, {106, "<turn|>", 3}, {107, "\n", 1}};
        for (SynthTokenizer.Vocab v : new SynthTokenizer.Vocab[] {real, tiny}) {
            for (Object[] e : expected) {
                int id = (Integer) e[0];
                assertEquals(e[1], v.tokens()[id], "token " + id);
                assertEquals((int) (Integer) e[2], v.types()[id], "type of " + e[1]);
            }
        }
        Object[][] multimodal = {{255999, "<|image>"}, {256000, "<|audio>"}, {258880, "<|image|>"}, {258881, "<|audio|>"},
            {258882, "<image|>"}, {258883, "<audio|>"}, {258884, "<|video|>"}};
        for (Object[] e : multimodal) {
            assertEquals(e[1], real.tokens()[(Integer) e[0]]);
            assertEquals(SynthTokenizer.TYPE_CONTROL, real.types()[(Integer) e[0]]);
        }
    }

    @Test
    void onlyTheRealSpecialsAreControlOrUserDefined() {
        int control = 0;
        int user = 0;
        for (int t : real.types()) {
            control += t == SynthTokenizer.TYPE_CONTROL ? 1 : 0;
            user += t == SynthTokenizer.TYPE_USER_DEFINED ? 1 : 0;
        }
        // the real vocabulary: 17 CONTROL (10 below 107 + 7 multimodal), 7 USER_DEFINED
        assertEquals(17, control);
        assertEquals(7, user);
    }

    @Test
    void byteFallbackTokensAndRuns() {
        for (SynthTokenizer.Vocab v : new SynthTokenizer.Vocab[] {real, tiny}) {
            Map<String, Integer> ids = index(v);
            for (int b = 0; b < 256; b++) {
                String name = String.format("<0x%02X>", b);
                Integer id = ids.get(name);
                assertTrue(id != null, name);
                assertEquals(SynthTokenizer.TYPE_BYTE, v.types()[id]);
            }
            for (int k = 1; k <= 31; k++) {
                assertTrue(ids.containsKey("\n".repeat(k)), "newline run " + k);
            }
            assertTrue(ids.containsKey("\u2581\u2581\u2581\u2581"), "four-space run");
            assertTrue(ids.containsKey("\t\t"), "tab run");
        }
    }

    @Test
    void tokensAreUniqueAndMergesAreWellFormed() {
        for (SynthTokenizer.Vocab v : new SynthTokenizer.Vocab[] {real, tiny}) {
            Map<String, Integer> ids = index(v);
            assertEquals(v.size(), ids.size(), "duplicate token texts");
            Set<String> seen = new HashSet<>();
            int multiChar = 0;
            for (String m : v.merges()) {
                assertTrue(seen.add(m), "duplicate merge " + m);
                int sp = m.indexOf(' ', 1);
                assertTrue(sp > 0, "merge without separator: " + m);
                String l = m.substring(0, sp);
                String r = m.substring(sp + 1);
                assertTrue(ids.containsKey(l) && ids.containsKey(r) && ids.containsKey(l + r), "merge " + m);
                assertEquals(SynthTokenizer.TYPE_NORMAL, v.types()[ids.get(l + r)]);
                multiChar++;
            }
            assertTrue(multiChar > v.size() / 3, "too few merges: " + multiChar);
        }
        // realistic sizes: the real file has 262144 tokens and ~515k merges
        assertTrue(real.merges().length > 200_000, "merges " + real.merges().length);
        for (float s : real.scores()) {
            assertEquals(-1000f, s);
        }
    }

    @Test
    void learnedMergesMakeCommonWordsSingleTokens() {
        Map<String, Integer> ids = index(tiny);
        for (String w : new String[] {"\u2581the", "\u2581and", "return", "\u2581to"}) {
            assertTrue(ids.containsKey(w), w);
        }
    }

    @Test
    void vocabularyIsDeterministic() {
        SynthTokenizer.Vocab again = SynthTokenizer.build(tiny.size());
        assertArrayEquals(tiny.tokens(), again.tokens());
        assertArrayEquals(tiny.merges(), again.merges());
        assertArrayEquals(tiny.types(), again.types());
    }

    private static Map<String, Integer> index(SynthTokenizer.Vocab v) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < v.size(); i++) {
            m.put(v.tokens()[i], i);
        }
        return m;
    }
}
