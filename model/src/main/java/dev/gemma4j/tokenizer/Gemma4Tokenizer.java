package dev.gemma4j.tokenizer;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufValueType;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The Gemma 4 tokenizer ({@code tokenizer.ggml.model = gemma4}) with llama.cpp's semantics (spec §5, §8.4):
 * SentencePiece-style BPE over UTF-8 characters with {@code ▁} for spaces, merge ranks, {@code <0xXX>} byte
 * fallback, whole-token newline runs, and special-token splitting. Immutable and safe to share between
 * threads; every call allocates its own scratch space.
 */
public final class Gemma4Tokenizer {
    public static final String KEY_MODEL = "tokenizer.ggml.model";
    public static final String KEY_TOKENS = "tokenizer.ggml.tokens";
    public static final String KEY_TOKEN_TYPE = "tokenizer.ggml.token_type";
    public static final String KEY_MERGES = "tokenizer.ggml.merges";
    public static final String KEY_BOS = "tokenizer.ggml.bos_token_id";
    public static final String KEY_EOS = "tokenizer.ggml.eos_token_id";
    public static final String KEY_EOT = "tokenizer.ggml.eot_token_id";
    public static final String KEY_EOM = "tokenizer.ggml.eom_token_id";
    public static final String KEY_ADD_BOS = "tokenizer.ggml.add_bos_token";
    public static final String KEY_ADD_EOS = "tokenizer.ggml.add_eos_token";

    // Token attributes, as flags: llama.cpp ORs some of them together at load.
    static final int ATTR_UNKNOWN = 1;
    static final int ATTR_UNUSED = 2;
    static final int ATTR_NORMAL = 4;
    static final int ATTR_CONTROL = 8;
    static final int ATTR_USER_DEFINED = 16;
    static final int ATTR_BYTE = 32;

    private static final int SPACE = 0x20;
    private static final int SPACE_MARK = 0x2581; // ▁
    private static final int DEAD = Integer.MIN_VALUE;

    /**
     * Special ids found by their text when their metadata key is absent; a token found this way is made
     * CONTROL (llama.cpp's auto-detection). The three FIM ids marked {@code eog} also stop generation.
     */
    private record AutoSpecial(String key, boolean eog, String... texts) {
    }

    private static final List<AutoSpecial> AUTO_SPECIALS = List.of(
        new AutoSpecial(KEY_EOT, false, "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"),
        new AutoSpecial(KEY_EOM, false, "<|eom_id|>"),
        new AutoSpecial("tokenizer.ggml.fim_pre_token_id", false, "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
            "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"),
        new AutoSpecial("tokenizer.ggml.fim_suf_token_id", false, "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
            "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"),
        new AutoSpecial("tokenizer.ggml.fim_mid_token_id", false, "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
            "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"),
        new AutoSpecial("tokenizer.ggml.fim_pad_token_id", true, "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>",
            "[PAD]"),
        new AutoSpecial("tokenizer.ggml.fim_rep_token_id", true, "<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
            "<REPO>", "<reponame>"),
        new AutoSpecial("tokenizer.ggml.fim_sep_token_id", true, "<|file_sep|>"));

    /** Token texts that end generation (and are therefore made CONTROL at load). */
    private static final java.util.Set<String> EOG_TEXTS = java.util.Set.of(
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[");

    /** Texts llama.cpp always renders (and never treats as control), whatever their stored type. */
    private static final java.util.Set<String> ALWAYS_RENDERED = java.util.Set.of(
        "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>");

    private static final byte[] EMPTY = new byte[0];

    private final String[] texts;
    private final TokenType[] types;
    private final int[] attrs;
    private final Map<String, Integer> textToId;
    private final int[] bmpCharId;
    private final Map<Integer, Integer> supplementaryCharId;
    private final int[] newlineRunId;
    private final int[] byteToken;
    private final MergeTable merges;
    private final SpecialTokenSplitter splitAllSpecials;
    private final SpecialTokenSplitter splitUserDefined;
    private final byte[][] pieces;
    private final int bos;
    private final int eos;
    private final boolean addEos;
    private final int[] eog;

    private Gemma4Tokenizer(Map<String, GgufValue> md) {
        String model = requireString(md, KEY_MODEL);
        if (!model.equals("gemma4")) {
            throw new TokenizerException(KEY_MODEL, "unsupported tokenizer '" + model + "', expected 'gemma4'");
        }
        texts = requireStrings(md, KEY_TOKENS).clone();
        int n = texts.length;
        if (n == 0) {
            throw new TokenizerException(KEY_TOKENS, "the vocabulary is empty");
        }
        for (int i = 0; i < n; i++) {
            if (texts[i].isEmpty()) {
                texts[i] = "[EMPTY_" + i + "]"; // as llama.cpp names empty entries
            }
        }
        types = readTypes(md, n);
        textToId = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            textToId.put(texts[i], i); // a repeated text maps to its last id, as in llama.cpp
        }
        attrs = new int[n];
        for (int i = 0; i < n; i++) {
            attrs[i] = switch (types[i]) {
                case UNDEFINED -> 0;
                case NORMAL -> ATTR_NORMAL;
                case UNKNOWN -> ATTR_UNKNOWN;
                case CONTROL -> ATTR_CONTROL;
                case USER_DEFINED -> ATTR_USER_DEFINED;
                case UNUSED -> ATTR_UNUSED;
                case BYTE -> ATTR_BYTE;
            };
            if (types[i] == TokenType.BYTE && !texts[i].matches("<0x[0-9A-Fa-f]{2}>")) {
                throw new TokenizerException(KEY_TOKEN_TYPE,
                    "token " + i + " is of type BYTE but its text '" + texts[i] + "' is not of the form <0xXX>");
            }
        }
        bos = requireTokenId(md, KEY_BOS, n);
        eos = optionalTokenId(md, KEY_EOS, n);
        addEos = optionalBool(md, KEY_ADD_EOS, false);
        if (addEos && eos < 0) {
            throw new TokenizerException(KEY_ADD_EOS, "is true but " + KEY_EOS + " is missing");
        }
        // add_bos_token is not read: llama.cpp forces it on for gemma4 (older conversions wrote false).
        eog = findEndOfGeneration(md, n);

        byteToken = new int[256];
        for (int b = 0; b < 256; b++) {
            byteToken[b] = textToId.getOrDefault(String.format("<0x%02X>", b), -1);
        }
        int longestNewlineRun = 0;
        for (String t : texts) {
            if (isNewlineRun(t)) {
                longestNewlineRun = Math.max(longestNewlineRun, t.length());
            }
        }
        newlineRunId = new int[longestNewlineRun + 1];
        Arrays.fill(newlineRunId, -1);
        for (int len = 1; len <= longestNewlineRun; len++) {
            newlineRunId[len] = textToId.getOrDefault("\n".repeat(len), -1);
        }

        // Merge rules over symbol ids: vocabulary ids, plus ids >= n for texts that occur in merges only.
        String[] mergeStrings = requireStrings(md, KEY_MERGES);
        Map<String, Integer> extra = new HashMap<>();
        merges = new MergeTable(mergeStrings.length);
        for (int rank = 0; rank < mergeStrings.length; rank++) {
            String m = mergeStrings[rank];
            int sep = m.indexOf(' ', 1);
            if (sep < 0) {
                throw new TokenizerException(KEY_MERGES,
                    "entry " + rank + " '" + m + "' is not two symbols separated by a space");
            }
            String left = m.substring(0, sep);
            String right = m.substring(sep + 1);
            if (right.isEmpty()) {
                continue; // can never match a symbol (llama.cpp keeps it, to the same effect)
            }
            merges.putIfAbsent(symbolId(left, extra), symbolId(right, extra), rank, symbolId(left + right, extra));
        }
        bmpCharId = new int[0x10000];
        Arrays.fill(bmpCharId, -1);
        supplementaryCharId = new HashMap<>();
        registerChars(textToId);
        registerChars(extra);

        int[] candidates = specialCandidates(n);
        splitAllSpecials = new SpecialTokenSplitter(candidates, texts);
        splitUserDefined = new SpecialTokenSplitter(
            Arrays.stream(candidates).filter(id -> (attrs[id] & (ATTR_CONTROL | ATTR_UNKNOWN)) == 0).toArray(), texts);

        pieces = new byte[n][];
        for (int i = 0; i < n; i++) {
            pieces[i] = renderPiece(i);
        }
    }

    // ---------------------------------------------------------------- construction

    /** The tokenizer described by a GGUF file's metadata. */
    public static Gemma4Tokenizer fromGguf(GgufFile file) {
        return fromMetadata(file.metadata());
    }

    /** The tokenizer described by GGUF metadata (the {@code tokenizer.ggml.*} keys). */
    public static Gemma4Tokenizer fromMetadata(Map<String, GgufValue> metadata) {
        return new Gemma4Tokenizer(metadata);
    }

    /**
     * A tokenizer from plain arrays, as the GGUF keys would hold them ({@code merges} as {@code "LEFT RIGHT"}).
     * {@code types} may be {@code null} (every token NORMAL); {@code eos} may be negative (none).
     */
    public static Gemma4Tokenizer of(String[] tokens, TokenType[] types, String[] merges, int bos, int eos) {
        return fromMetadata(metadataOf(tokens, types, merges, bos, eos));
    }

    /** The GGUF metadata entries that describe such a vocabulary (for writing test models). */
    public static Map<String, GgufValue> metadataOf(String[] tokens, TokenType[] types, String[] merges, int bos,
                                                    int eos) {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put(KEY_MODEL, GgufValue.ofString("gemma4"));
        md.put(KEY_TOKENS, GgufValue.ofStringArray(tokens));
        md.put("tokenizer.ggml.scores", GgufValue.ofFloat32Array(filled(tokens.length, -1000f)));
        if (types != null) {
            md.put(KEY_TOKEN_TYPE, GgufValue.ofInt32Array(Arrays.stream(types).mapToInt(TokenType::id).toArray()));
        }
        md.put(KEY_MERGES, GgufValue.ofStringArray(merges));
        md.put(KEY_BOS, GgufValue.ofUint32(bos));
        if (eos >= 0) {
            md.put(KEY_EOS, GgufValue.ofUint32(eos));
        }
        md.put(KEY_ADD_BOS, GgufValue.ofBool(true));
        md.put("tokenizer.ggml.add_space_prefix", GgufValue.ofBool(false));
        return md;
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    private int symbolId(String text, Map<String, Integer> extra) {
        Integer id = textToId.get(text);
        if (id != null) {
            return id;
        }
        return extra.computeIfAbsent(text, t -> texts.length + extra.size());
    }

    private void registerChars(Map<String, Integer> ids) {
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            String t = e.getKey();
            if (t.isEmpty() || t.codePointCount(0, t.length()) != 1) {
                continue;
            }
            int cp = t.codePointAt(0);
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                continue; // not from well-formed UTF-8
            }
            if (cp < 0x10000) {
                bmpCharId[cp] = e.getValue();
            } else {
                supplementaryCharId.put(cp, e.getValue());
            }
        }
    }

    private static boolean isNewlineRun(String t) {
        if (t.isEmpty()) {
            return false;
        }
        for (int i = 0; i < t.length(); i++) {
            if (t.charAt(i) != '\n') {
                return false;
            }
        }
        return true;
    }

    /** Control, user-defined and unknown tokens, longest UTF-8 text first (ties: lower id first). */
    private int[] specialCandidates(int n) {
        List<Integer> ids = new ArrayList<>();
        int[] len = new int[n];
        for (int i = 0; i < n; i++) {
            if ((attrs[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0) {
                ids.add(i);
                len[i] = texts[i].getBytes(StandardCharsets.UTF_8).length;
            }
        }
        ids.sort(Comparator.<Integer>comparingInt(i -> -len[i]).thenComparingInt(i -> i));
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** llama.cpp's end-of-generation set, with the CONTROL upgrades it makes on the way (spec §5.3, §8.4). */
    private int[] findEndOfGeneration(Map<String, GgufValue> md, int n) {
        Map<String, Integer> found = new HashMap<>();
        for (AutoSpecial a : AUTO_SPECIALS) {
            int id = optionalTokenId(md, a.key, n);
            if (id >= 0) {
                found.put(a.key, id);
            }
        }
        Map<String, List<AutoSpecial>> byText = new HashMap<>();
        for (AutoSpecial a : AUTO_SPECIALS) {
            for (String t : a.texts) {
                byText.computeIfAbsent(t, k -> new ArrayList<>()).add(a);
            }
        }
        for (int i = 0; i < n; i++) {
            List<AutoSpecial> candidates = byText.get(texts[i]);
            if (candidates == null) {
                continue;
            }
            for (AutoSpecial a : candidates) {
                if (!found.containsKey(a.key)) {
                    found.put(a.key, i);
                    attrs[i] |= ATTR_CONTROL;
                }
            }
        }
        TreeSet<Integer> set = new TreeSet<>();
        for (AutoSpecial a : AUTO_SPECIALS) {
            if (a.eog && found.containsKey(a.key)) {
                set.add(found.get(a.key));
            }
        }
        for (int i = 0; i < n; i++) {
            if (EOG_TEXTS.contains(texts[i])) {
                set.add(i);
                attrs[i] |= ATTR_CONTROL;
            }
        }
        for (int i = 0; i < n; i++) {
            if (ALWAYS_RENDERED.contains(texts[i])) {
                attrs[i] = ATTR_USER_DEFINED;
            }
        }
        if (eos >= 0) {
            set.add(eos);
        }
        if (found.containsKey(KEY_EOT)) {
            set.add(found.get(KEY_EOT));
        }
        if (found.containsKey(KEY_EOM)) {
            set.add(found.get(KEY_EOM));
        }
        Integer end = null;
        boolean hasReturn = false;
        boolean hasCall = false;
        boolean hasFlush = false;
        Integer slashS = null;
        boolean hasToolResponse = false;
        for (int id : set) {
            switch (texts[id]) {
                case "<|return|>" -> hasReturn = true;
                case "<|call|>", "<|calls|>" -> hasCall = true;
                case "<|flush|>" -> hasFlush = true;
                case "<|end|>" -> end = id;
                case "<|tool_response>" -> hasToolResponse = true;
                case "</s>" -> slashS = id;
                default -> { }
            }
        }
        if (end != null && hasCall && (hasReturn || hasFlush)) {
            set.remove(end);
            attrs[end] = ATTR_USER_DEFINED;
        }
        if (hasToolResponse && slashS != null) {
            set.remove(slashS); // gemma4: "</s>" is ordinary text
            attrs[slashS] = ATTR_NORMAL;
        }
        return set.stream().mapToInt(Integer::intValue).toArray();
    }

    private byte[] renderPiece(int id) {
        int a = attrs[id];
        if ((a & (ATTR_CONTROL | ATTR_UNKNOWN | ATTR_USER_DEFINED)) != 0) {
            return texts[id].getBytes(StandardCharsets.UTF_8);
        }
        if ((a & ATTR_NORMAL) != 0) {
            return texts[id].replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
        }
        if ((a & ATTR_BYTE) != 0) {
            return new byte[] {(byte) Integer.parseInt(texts[id].substring(3, 5), 16)};
        }
        return EMPTY; // unused / undefined
    }

    // ---------------------------------------------------------------- metadata helpers

    private static GgufValue require(Map<String, GgufValue> md, String key) {
        GgufValue v = md.get(key);
        if (v == null) {
            throw new TokenizerException(key, "missing (the model has no gemma4 tokenizer metadata)");
        }
        return v;
    }

    private static String requireString(Map<String, GgufValue> md, String key) {
        GgufValue v = require(md, key);
        if (v.type() != GgufValueType.STRING) {
            throw new TokenizerException(key, "expected a string, found " + v.describe());
        }
        return v.asString();
    }

    private static String[] requireStrings(Map<String, GgufValue> md, String key) {
        GgufValue v = require(md, key);
        if (!v.isArray() || v.elementType() != GgufValueType.STRING) {
            throw new TokenizerException(key, "expected an array of strings, found " + v.describe());
        }
        return v.asStringArray();
    }

    private static TokenType[] readTypes(Map<String, GgufValue> md, int n) {
        TokenType[] t = new TokenType[n];
        GgufValue v = md.get(KEY_TOKEN_TYPE);
        if (v == null) {
            Arrays.fill(t, TokenType.NORMAL);
            return t;
        }
        if (!v.isArray() || !(v.raw() instanceof long[] values)) {
            throw new TokenizerException(KEY_TOKEN_TYPE, "expected an array of integers, found " + v.describe());
        }
        if (values.length < n) {
            throw new TokenizerException(KEY_TOKEN_TYPE,
                "has " + values.length + " entries for " + n + " tokens");
        }
        for (int i = 0; i < n; i++) {
            t[i] = TokenType.byId(values[i]);
            if (t[i] == null) {
                throw new TokenizerException(KEY_TOKEN_TYPE, "token " + i + " has unknown type " + values[i]);
            }
        }
        return t;
    }

    private static int requireTokenId(Map<String, GgufValue> md, String key, int n) {
        require(md, key);
        return optionalTokenId(md, key, n);
    }

    private static int optionalTokenId(Map<String, GgufValue> md, String key, int n) {
        GgufValue v = md.get(key);
        if (v == null) {
            return -1;
        }
        if (!v.isInteger()) {
            throw new TokenizerException(key, "expected an integer token id, found " + v.describe());
        }
        long id = v.asLong();
        if (id < 0 || id >= n) {
            throw new TokenizerException(key, "token id " + id + " is outside the vocabulary (0.." + (n - 1) + ")");
        }
        return (int) id;
    }

    private static boolean optionalBool(Map<String, GgufValue> md, String key, boolean dflt) {
        GgufValue v = md.get(key);
        if (v == null) {
            return dflt;
        }
        if (v.type() != GgufValueType.BOOL) {
            throw new TokenizerException(key, "expected a bool, found " + v.describe());
        }
        return v.asBoolean();
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Token ids of {@code text}. {@code addSpecial} prepends BOS (always, for gemma4) and appends EOS if the
     * model asks for it; {@code parseSpecial} turns the texts of control tokens into those tokens (with it
     * off, only user-defined tokens such as {@code <|"|>} are recognised). Unpaired surrogates in
     * {@code text} are encoded as U+FFFD.
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        return encode(utf8(text), addSpecial, parseSpecial);
    }

    /** Like {@link #encode(String, boolean, boolean)} for raw bytes; ill-formed UTF-8 bytes become U+FFFD. */
    public int[] encode(byte[] utf8, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(Math.max(16, utf8.length / 3));
        if (addSpecial) {
            out.add(bos);
        }
        SpecialTokenSplitter splitter = parseSpecial ? splitAllSpecials : splitUserDefined;
        Scratch scratch = new Scratch();
        for (SpecialTokenSplitter.Fragment f : splitter.split(utf8, utf8.length)) {
            if (f.isText()) {
                encodeText(utf8, f.start(), f.end(), scratch, out);
            } else {
                out.add(f.token());
            }
        }
        if (addSpecial && addEos) {
            out.add(eos);
        }
        return out.toArray();
    }

    private static byte[] utf8(String s) {
        CharsetEncoder enc = StandardCharsets.UTF_8.newEncoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE)
            .replaceWith(new byte[] {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD});
        try {
            ByteBuffer b = enc.encode(CharBuffer.wrap(s));
            byte[] a = new byte[b.remaining()];
            b.get(a);
            return a;
        } catch (CharacterCodingException e) {
            throw new IllegalStateException(e); // cannot happen with REPLACE
        }
    }

    /** Per-call working arrays, grown as needed. */
    private static final class Scratch {
        int[] cps = new int[64];
        int[] sym = new int[64];
        int[] next = new int[64];
        int[] prev = new int[64];
        long[] heap = new long[64];

        void ensure(int n) {
            if (cps.length < n) {
                int c = Math.max(n, cps.length * 2);
                cps = new int[c];
                sym = new int[c];
                next = new int[c];
                prev = new int[c];
            }
        }
    }

    private void encodeText(byte[] utf8, int from, int to, Scratch s, IntList out) {
        s.ensure(to - from);
        int[] cps = s.cps;
        int n = LenientUtf8.decode(utf8, from, to, cps);
        for (int i = 0; i < n; i++) {
            if (cps[i] == SPACE) {
                cps[i] = SPACE_MARK;
            }
        }
        // words: maximal runs that are all '\n' or hold no '\n'
        int start = 0;
        while (start < n) {
            boolean newline = cps[start] == '\n';
            int end = start + 1;
            while (end < n && (cps[end] == '\n') == newline) {
                end++;
            }
            int len = end - start;
            if (newline && len < newlineRunId.length && newlineRunId[len] >= 0) {
                out.add(newlineRunId[len]);
            } else {
                bpe(cps, start, end, s, out);
            }
            start = end;
        }
    }

    private int charId(int cp) {
        if (cp < 0x10000) {
            return cp >= 0 ? bmpCharId[cp] : -1;
        }
        Integer id = supplementaryCharId.get(cp);
        return id == null ? -1 : id;
    }

    /**
     * BPE over the characters {@code cps[from, to)}: repeatedly merge the adjacent pair with the lowest rank
     * (leftmost on ties). The candidate pairs sit in a min-heap keyed by (rank, left position); an entry whose
     * symbols have changed since it was pushed no longer finds its rank and is dropped when popped.
     */
    private void bpe(int[] cps, int from, int to, Scratch s, IntList out) {
        int n = to - from;
        int[] sym = s.sym;
        int[] next = s.next;
        int[] prev = s.prev;
        for (int i = 0; i < n; i++) {
            sym[i] = charId(cps[from + i]);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        int heapSize = 0;
        for (int i = 0; i + 1 < n; i++) {
            heapSize = pushPair(s, heapSize, i, sym[i], sym[i + 1]);
        }
        while (heapSize > 0) {
            long top = s.heap[0];
            heapSize = popHeap(s.heap, heapSize);
            int left = (int) top;
            int rank = (int) (top >>> 32);
            if (sym[left] == DEAD) {
                continue;
            }
            int right = next[left];
            if (right < 0) {
                continue;
            }
            int slot = merges.find(sym[left], sym[right]);
            if (slot < 0 || merges.rankAt(slot) != rank) {
                continue; // stale: one of the two symbols has grown since this pair was queued
            }
            sym[left] = merges.resultAt(slot);
            sym[right] = DEAD;
            int after = next[right];
            next[left] = after;
            if (after >= 0) {
                prev[after] = left;
                heapSize = pushPair(s, heapSize, left, sym[left], sym[after]);
            }
            if (prev[left] >= 0) {
                heapSize = pushPair(s, heapSize, prev[left], sym[prev[left]], sym[left]);
            }
        }
        ByteArrayOutputStream fallback = null;
        for (int i = 0; i >= 0; i = next[i]) {
            int id = sym[i];
            if (id >= 0 && id < texts.length) {
                out.add(id);
                continue;
            }
            // not a vocabulary token: one <0xXX> token per UTF-8 byte (bytes without one are dropped)
            if (fallback == null) {
                fallback = new ByteArrayOutputStream();
            }
            fallback.reset();
            int end = next[i] < 0 ? n : next[i];
            for (int k = i; k < end; k++) {
                LenientUtf8.encode(cps[from + k], fallback);
            }
            for (byte b : fallback.toByteArray()) {
                int t = byteToken[b & 0xFF];
                if (t >= 0) {
                    out.add(t);
                }
            }
        }
    }

    private int pushPair(Scratch s, int size, int left, int leftSym, int rightSym) {
        int slot = merges.find(leftSym, rightSym);
        if (slot < 0) {
            return size;
        }
        if (size == s.heap.length) {
            s.heap = Arrays.copyOf(s.heap, size * 2);
        }
        long[] h = s.heap;
        long v = ((long) merges.rankAt(slot) << 32) | left;
        int i = size;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= v) {
                break;
            }
            h[i] = h[parent];
            i = parent;
        }
        h[i] = v;
        return size + 1;
    }

    private static int popHeap(long[] h, int size) {
        size--;
        long v = h[size];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) {
                break;
            }
            if (c + 1 < size && h[c + 1] < h[c]) {
                c++;
            }
            if (v <= h[c]) {
                break;
            }
            h[i] = h[c];
            i = c;
        }
        if (size > 0) {
            h[i] = v;
        }
        return size;
    }

    // ---------------------------------------------------------------- decoding

    /**
     * The bytes one token stands for (spec §5.4): control and unknown tokens only when {@code renderSpecial},
     * user-defined tokens always as written, normal tokens with {@code ▁} as space, byte tokens as their byte,
     * unused tokens as nothing. A byte token may be part of a multi-byte character.
     */
    public byte[] pieceBytes(int id, boolean renderSpecial) {
        checkId(id);
        if (!renderSpecial && (attrs[id] & (ATTR_CONTROL | ATTR_UNKNOWN)) != 0) {
            return EMPTY;
        }
        return pieces[id].clone();
    }

    int pieceLength(int id, boolean renderSpecial) {
        return !renderSpecial && (attrs[id] & (ATTR_CONTROL | ATTR_UNKNOWN)) != 0 ? 0 : pieces[id].length;
    }

    void appendPiece(int id, boolean renderSpecial, ByteArrayOutputStream out) {
        checkId(id);
        if (renderSpecial || (attrs[id] & (ATTR_CONTROL | ATTR_UNKNOWN)) == 0) {
            out.write(pieces[id], 0, pieces[id].length);
        }
    }

    /** The UTF-8 bytes of a token sequence (no space clean-up, no leading-space stripping). */
    public byte[] decodeBytes(int[] ids, boolean renderSpecial) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            appendPiece(id, renderSpecial, out);
        }
        return out.toByteArray();
    }

    /** The text of a token sequence; ill-formed UTF-8 (from byte tokens) decodes to U+FFFD. */
    public String decode(int[] ids, boolean renderSpecial) {
        return new String(decodeBytes(ids, renderSpecial), StandardCharsets.UTF_8);
    }

    /** A decoder for generated tokens that emits only whole characters (see {@link StreamingDecoder}). */
    public StreamingDecoder streamingDecoder(boolean renderSpecial) {
        return new StreamingDecoder(this, renderSpecial);
    }

    private void checkId(int id) {
        if (id < 0 || id >= texts.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (texts.length - 1) + ")");
        }
    }

    // ---------------------------------------------------------------- vocabulary

    public int vocabSize() {
        return texts.length;
    }

    /** The token's text as stored in the vocabulary (with {@code ▁}, or {@code <0xXX>} for byte tokens). */
    public String tokenText(int id) {
        checkId(id);
        return texts[id];
    }

    /** The token's type as stored in the GGUF (before llama.cpp's load-time upgrades). */
    public TokenType tokenType(int id) {
        checkId(id);
        return types[id];
    }

    /** Whether the token behaves as a control token (stored CONTROL, or upgraded at load, e.g. EOG tokens). */
    public boolean isControl(int id) {
        checkId(id);
        return (attrs[id] & ATTR_CONTROL) != 0;
    }

    /** The id of a token by its exact text, or -1. */
    public int tokenId(String text) {
        return textToId.getOrDefault(text, -1);
    }

    public int bosId() {
        return bos;
    }

    /** The EOS id, or -1 if the model names none. */
    public int eosId() {
        return eos;
    }

    /** The end-of-generation token ids, ascending (for Gemma 4: {@code <eos>}, {@code <|tool_response>}, {@code <turn|>}). */
    public int[] endOfGenerationIds() {
        return eog.clone();
    }

    public boolean isEndOfGeneration(int id) {
        return Arrays.binarySearch(eog, id) >= 0;
    }

    /** Number of tokens split out of raw text before BPE, with and without special-token parsing. */
    public int specialTokenCount(boolean parseSpecial) {
        return (parseSpecial ? splitAllSpecials : splitUserDefined).candidateCount();
    }

    /** A growable int array. */
    static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2 + 1);
            }
            a[size++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
