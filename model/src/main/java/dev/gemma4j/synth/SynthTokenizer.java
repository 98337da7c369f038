package dev.gemma4j.synth;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * A synthetic {@code gemma4} tokenizer (spec §5): the real special tokens at their real ids, newline /
 * space / tab runs, {@code <0xXX>} byte-fallback tokens, single characters, merges learned by a small
 * deterministic BPE from a built-in English + code text, and, for large vocabularies, further tokens made
 * by concatenating existing ones (each with its merge), so that the merge table has a realistic size.
 * Large vocabularies also get the multimodal markers and the {@code <unusedN>} tail at their real ids.
 * The vocabulary depends only on its size, never on the weight seed.
 */
public final class SynthTokenizer {

    public static final int TYPE_NORMAL = 1;
    public static final int TYPE_UNKNOWN = 2;
    public static final int TYPE_CONTROL = 3;
    public static final int TYPE_USER_DEFINED = 4;
    public static final int TYPE_UNUSED = 5;
    public static final int TYPE_BYTE = 6;

    /** The space marker of SentencePiece-style vocabularies (U+2581). */
    public static final String SPACE = "\u2581";

    /** Longest newline / space / tab run that is a single token (the real vocabulary has 31). */
    public static final int MAX_RUN = 31;

    /** Smallest vocabulary: specials, runs, bytes, characters and a few hundred merges. */
    public static final int MIN_VOCAB = 1024;

    /** First id of the multimodal block in the real vocabulary and the real vocabulary size. */
    static final int IMAGE_ID = 255999;
    static final int REAL_VOCAB = 262144;

    /** The vocabulary as written to GGUF: parallel arrays by token id, merges by rank. */
    public record Vocab(String[] tokens, float[] scores, int[] types, String[] merges) {
        public int size() {
            return tokens.length;
        }

        public int id(String token) {
            for (int i = 0; i < tokens.length; i++) {
                if (tokens[i].equals(token)) {
                    return i;
                }
            }
            return -1;
        }
    }

    private SynthTokenizer() {
    }

    /** Special tokens below 108 as in the real vocabulary; other ids there are NORMAL {@code <unusedN>}. */
    private static final Map<Integer, String> LOW_SPECIALS = Map.ofEntries(
        Map.entry(0, "<pad>"), Map.entry(1, "<eos>"), Map.entry(2, "<bos>"), Map.entry(3, "<unk>"),
        Map.entry(4, "<mask>"), Map.entry(5, "[multimodal]"),
        Map.entry(46, "<|tool>"), Map.entry(47, "<tool|>"), Map.entry(48, "<|tool_call>"), Map.entry(49, "<tool_call|>"),
        Map.entry(50, "<|tool_response>"), Map.entry(51, "<tool_response|>"), Map.entry(52, "<|\"|>"),
        Map.entry(98, "<|think|>"), Map.entry(100, "<|channel>"), Map.entry(101, "<channel|>"),
        Map.entry(105, "<|turn>"), Map.entry(106, "<turn|>"));

    /** The markers the converter forces to USER_DEFINED so that they are printed (spec §5.1). */
    private static final Set<String> USER_DEFINED = Set.of(
        "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>", "<|\"|>");

    /** Multimodal control tokens of the real vocabulary, by id. */
    private static final Map<Integer, String> HIGH_SPECIALS = Map.of(
        255999, "<|image>", 256000, "<|audio>", 258880, "<|image|>", 258881, "<|audio|>",
        258882, "<image|>", 258883, "<audio|>", 258884, "<|video|>");

    /** Characters beyond the corpus that get their own token (a few multi-byte ones on purpose). */
    private static final String EXTRA_CHARS = "éèêëàâäçîïôöùûüñßÉÀ€£°±×÷–—‘’“”…•";

    public static Vocab build(int size) {
        if (size < MIN_VOCAB) {
            throw new IllegalArgumentException("vocab must be at least " + MIN_VOCAB + ", got " + size);
        }
        Builder b = new Builder(size);
        // 0..106: specials and <unusedN> fillers at their real ids
        int unused = 0;
        for (int id = 0; id < 107; id++) {
            String special = LOW_SPECIALS.get(id);
            if (special == null) {
                b.add("<unused" + unused++ + ">", TYPE_NORMAL);
            } else if (special.equals("[multimodal]")) {
                b.add(special, TYPE_NORMAL);
            } else {
                b.add(special, USER_DEFINED.contains(special) ? TYPE_USER_DEFINED : TYPE_CONTROL);
            }
        }
        // 107..: newline runs ("\n" is 107), then space and tab runs
        for (int k = 1; k <= MAX_RUN; k++) {
            b.add("\n".repeat(k), TYPE_NORMAL);
        }
        for (int k = 2; k <= MAX_RUN; k++) {
            b.add(SPACE.repeat(k), TYPE_NORMAL);
        }
        for (int k = 1; k <= MAX_RUN; k++) {
            b.add("\t".repeat(k), TYPE_NORMAL);
        }
        for (int v = 0; v < 256; v++) {
            b.add(String.format("<0x%02X>", v), TYPE_BYTE);
        }
        // Runs merge longest first, as in the real merge table, so a run of up to 31 becomes one token.
        for (String c : new String[] {"\n", SPACE, "\t"}) {
            for (int k = MAX_RUN; k >= 2; k--) {
                b.merge(c.repeat(k - 1), c);
            }
        }
        String corpus = corpus();
        TreeSet<String> chars = new TreeSet<>();
        chars.add(SPACE);
        for (char c = '!'; c <= '~'; c++) {
            chars.add(String.valueOf(c));
        }
        corpus.replace(" ", SPACE).codePoints().filter(cp -> cp != '\n' && cp != '\t')
            .forEach(cp -> chars.add(Character.toString(cp)));
        EXTRA_CHARS.codePoints().forEach(cp -> chars.add(Character.toString(cp)));
        List<String> pool = new ArrayList<>();
        for (String c : chars) {
            if (b.add(c, TYPE_NORMAL)) {
                pool.add(c);
            }
        }
        if (b.full()) {
            throw new IllegalStateException("vocab " + size + " has no room for merges");
        }
        learnMerges(b, corpus, pool);
        fillSynthetic(b, pool);
        return b.finish();
    }

    /** The built-in English + code text the merges are learned from. */
    static String corpus() {
        try (InputStream in = SynthTokenizer.class.getResourceAsStream("corpus.txt")) {
            if (in == null) {
                throw new IllegalStateException("missing resource dev/gemma4j/synth/corpus.txt");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Classic BPE training: pieces are SentencePiece-style words ({@code ▁word}); repeatedly merge the
     * most frequent adjacent pair (ties: the smaller pair in string order) until the vocabulary is full
     * or no pair occurs twice.
     */
    private static void learnMerges(Builder b, String corpus, List<String> pool) {
        Map<String, Integer> pieceCounts = new HashMap<>();
        for (String line : corpus.split("\n", -1)) {
            for (String piece : pieces(line.replace(" ", SPACE))) {
                pieceCounts.merge(piece, 1, Integer::sum);
            }
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        pieceCounts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            List<String> syms = new ArrayList<>();
            e.getKey().codePoints().forEach(cp -> syms.add(Character.toString(cp)));
            words.add(syms);
            counts.add(e.getValue());
        });
        while (!b.full()) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairCounts.merge(s.get(i) + " " + s.get(i + 1), counts.get(w), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> e : pairCounts.entrySet()) {
                int c = e.getValue();
                String key = e.getKey();
                if (c < 2 || b.has(key.substring(0, key.indexOf(' ')) + key.substring(key.indexOf(' ') + 1))) {
                    continue;
                }
                if (best == null || c > bestCount || (c == bestCount && key.compareTo(best) < 0)) {
                    best = key;
                    bestCount = c;
                }
            }
            if (best == null) {
                return;
            }
            int sp = best.indexOf(' ');
            String left = best.substring(0, sp);
            String right = best.substring(sp + 1);
            b.merge(left, right);
            b.add(left + right, TYPE_NORMAL);
            pool.add(left + right);
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(left) && s.get(i + 1).equals(right)) {
                        s.set(i, left + right);
                        s.remove(i + 1);
                    }
                }
            }
        }
    }

    /** Splits a line (spaces already ▁) before every ▁ that follows another character; runs of ▁ stand alone. */
    private static List<String> pieces(String line) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int n = line.length();
        for (int i = 1; i <= n; i++) {
            boolean boundary = i == n
                || (line.startsWith(SPACE, i) && !line.startsWith(SPACE, i - 1))
                || (!line.startsWith(SPACE, i) && i >= 2 && line.startsWith(SPACE, i - 1) && line.startsWith(SPACE, i - 2));
            if (boundary) {
                String p = line.substring(start, i);
                if (!p.isEmpty() && !p.chars().allMatch(c -> c == SPACE.charAt(0))) {
                    out.add(p);
                }
                start = i;
            }
        }
        return out;
    }

    /**
     * Fills the rest of the text ids with concatenations of an existing token (a "stem") and a short
     * one without a leading space (a "suffix"), each with its merge, like the long tail of a real BPE table.
     */
    private static void fillSynthetic(Builder b, List<String> pool) {
        SplittableRandom r = new SplittableRandom(0x6A656D6D61344CL);
        List<String> stems = new ArrayList<>();
        List<String> suffixes = new ArrayList<>();
        for (String t : pool) {
            stems.add(t);
            if (!t.startsWith(SPACE) && t.codePointCount(0, t.length()) <= 3) {
                suffixes.add(t);
            }
        }
        long misses = 0;
        while (!b.full()) {
            String left = stems.get(r.nextInt(stems.size()));
            String right = suffixes.get(r.nextInt(suffixes.size()));
            String joined = left + right;
            if (b.has(joined)) {
                if (++misses > 100_000_000L) {
                    throw new IllegalStateException("cannot fill a vocab of " + b.size);
                }
                continue;
            }
            b.merge(left, right);
            b.add(joined, TYPE_NORMAL);
            if (joined.length() <= 12) {
                stems.add(joined);
            }
        }
    }

    /** Assigns ids in order, leaving the real multimodal / unused tail in place for large vocabularies. */
    private static final class Builder {
        final int size;
        final String[] tokens;
        final int[] types;
        final Set<String> seen = new HashSet<>();
        final LinkedHashSet<String> merges = new LinkedHashSet<>();
        /** Ids at and above this are reserved for the real tail (multimodal markers and unused tokens). */
        final int textLimit;
        int next;

        Builder(int size) {
            this.size = size;
            this.tokens = new String[size];
            this.types = new int[size];
            this.textLimit = size > IMAGE_ID ? IMAGE_ID : size;
        }

        boolean has(String token) {
            return seen.contains(token);
        }

        boolean full() {
            return next >= textLimit;
        }

        boolean add(String token, int type) {
            if (full() || !seen.add(token)) {
                return false;
            }
            tokens[next] = token;
            types[next] = type;
            next++;
            return true;
        }

        void merge(String left, String right) {
            merges.add(left + " " + right);
        }

        Vocab finish() {
            int unused = 0;
            for (int i = 0; i < 107; i++) {
                if (tokens[i].startsWith("<unused")) {
                    unused++;
                }
            }
            for (int id = textLimit; id < size; id++) {
                String special = HIGH_SPECIALS.get(id);
                String t = special != null ? special : "<unused" + unused++ + ">";
                if (!seen.add(t)) {
                    throw new IllegalStateException("duplicate token " + t);
                }
                tokens[id] = t;
                types[id] = special != null ? TYPE_CONTROL : TYPE_NORMAL;
            }
            float[] scores = new float[size];
            java.util.Arrays.fill(scores, -1000f);
            // keep only merges whose parts and result are all tokens (a run merge may exceed a tiny vocab)
            List<String> valid = new ArrayList<>();
            for (String m : merges) {
                int sp = m.indexOf(' ', 1);
                String l = m.substring(0, sp);
                String r = m.substring(sp + 1);
                if (seen.contains(l) && seen.contains(r) && seen.contains(l + r)) {
                    valid.add(m);
                }
            }
            return new Vocab(tokens, scores, types, valid.toArray(String[]::new));
        }
    }
}
