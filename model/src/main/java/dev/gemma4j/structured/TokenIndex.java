package dev.gemma4j.structured;

import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.TokenType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The vocabulary as the constraint needs it, built once per model and shared by all requests (immutable):
 * the decoded bytes of every token that may appear inside JSON, in a trie (so that one walk against the
 * automaton decides every token sharing a prefix at once), plus a shortcut for the commonest state, the
 * inside of a string: the tokens that are "plain" string content (no quote, backslash or control byte,
 * complete UTF-8) are allowed there wholesale, so only the others are walked.
 *
 * <p>Only NORMAL and BYTE tokens can appear in JSON. User-defined tokens (the markers {@code <|"|>},
 * {@code <|tool_call>}, {@code <tool_call|>}, {@code <|channel>}, ...) are in the trie as the text they print,
 * but only grammars of Gemma's tool-call syntax may use them (see {@link #markers}); control, unused and
 * unknown tokens never appear. The end tokens are allowed exactly when the output may end, never as text.
 */
public final class TokenIndex {
    final int vocabSize;
    final int[] endTokens;
    final Trie all;
    /** the shortcut inside JSON strings */
    final Plain json;
    /** the shortcut inside strings of Gemma's dict syntax ({@code <|"|>...<|"|>}) */
    final Plain gemma;
    /** bit set of the user-defined marker tokens, which JSON output never contains */
    final long[] markers;
    final byte[][] bytes;

    /**
     * The tokens that are "plain" inside some kind of string (they cannot end it and leave it in its ordinary
     * state): allowed wholesale when the string has room for their length; the others are walked in a trie.
     */
    static final class Plain {
        /** bit set of the plain tokens */
        final long[] bits;
        /** byChars[c]: the plain tokens of c code points (c ≥ 1) */
        final int[][] byChars;
        /** the usable tokens that are not plain */
        final Trie rest;

        Plain(byte[][] bytes, List<Integer> usable, java.util.function.ToIntFunction<byte[]> chars) {
            bits = new long[(bytes.length + 63) >>> 6];
            int[] count = new int[bytes.length];
            int maxChars = 0;
            List<Integer> others = new ArrayList<>();
            for (int id : usable) {
                count[id] = chars.applyAsInt(bytes[id]);
                if (count[id] > 0) {
                    bits[id >>> 6] |= 1L << id;
                    maxChars = Math.max(maxChars, count[id]);
                } else {
                    others.add(id);
                }
            }
            int[] perCount = new int[maxChars + 1];
            for (int id : usable) {
                perCount[count[id]]++;
            }
            byChars = new int[maxChars + 1][];
            for (int c = 1; c <= maxChars; c++) {
                byChars[c] = new int[perCount[c]];
                perCount[c] = 0;
            }
            byChars[0] = new int[0];
            for (int id : usable) {
                if (count[id] > 0) {
                    byChars[count[id]][perCount[count[id]]++] = id;
                }
            }
            rest = Trie.of(bytes, others);
        }
    }

    private TokenIndex(byte[][] bytes, boolean[] marker, int[] endTokens) {
        this.vocabSize = bytes.length;
        this.bytes = bytes;
        this.endTokens = endTokens.clone();
        int n = bytes.length;
        for (int e : endTokens) {
            bytes[e] = null; // an end token ends the output; it is never part of it
        }
        markers = new long[(n + 63) >>> 6];
        List<Integer> usable = new ArrayList<>();
        for (int id = 0; id < n; id++) {
            if (bytes[id] == null || bytes[id].length == 0) {
                continue;
            }
            usable.add(id);
            if (marker != null && marker[id]) {
                markers[id >>> 6] |= 1L << id;
            }
        }
        // sorted once by bytes; the subsets below keep the order, so no trie sorts again
        usable.sort((a, b) -> Arrays.compareUnsigned(bytes[a], bytes[b]));
        all = Trie.of(bytes, usable);
        json = new Plain(bytes, usable, TokenIndex::plainChars);
        gemma = new Plain(bytes, usable, TokenIndex::gemmaPlainChars);
    }

    /** The index of a model's vocabulary; {@code endTokens} end the output (e.g. {@code StopTokens.ids()}). */
    public static TokenIndex of(Gemma4Tokenizer tokenizer, int[] endTokens) {
        byte[][] b = new byte[tokenizer.vocabSize()][];
        boolean[] marker = new boolean[b.length];
        for (int id = 0; id < b.length; id++) {
            TokenType t = tokenizer.tokenType(id);
            if ((t == TokenType.NORMAL || t == TokenType.BYTE || t == TokenType.USER_DEFINED) && !tokenizer.isControl(id)) {
                b[id] = tokenizer.pieceBytes(id, false);
                marker[id] = t == TokenType.USER_DEFINED;
            }
        }
        return new TokenIndex(b, marker, endTokens);
    }

    /**
     * An index over explicit token bytes ({@code null} or empty: never allowed inside JSON), for tests and
     * tokenizers other than Gemma 4's.
     */
    public static TokenIndex of(byte[][] tokenBytes, int[] endTokens) {
        return new TokenIndex(tokenBytes.clone(), null, endTokens);
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** The bytes a token contributes to the output, or null if it can never appear inside JSON. */
    public byte[] bytes(int token) {
        byte[] b = bytes[token];
        return b == null || b.length == 0 ? null : b.clone();
    }

    boolean isEnd(int token) {
        for (int e : endTokens) {
            if (e == token) {
                return true;
            }
        }
        return false;
    }

    /**
     * The number of code points if the bytes are plain JSON string content (printable ASCII other than quote
     * and backslash, or complete well-formed UTF-8 characters), else 0.
     */
    static int plainChars(byte[] b) {
        return utf8Chars(b, "\"\\", false);
    }

    /**
     * The same for strings of Gemma's dict syntax: no '<' or '|' (which could begin the closing quote or a
     * forbidden "|>"), newline and tab allowed.
     */
    static int gemmaPlainChars(byte[] b) {
        return utf8Chars(b, "<|", true);
    }

    private static int utf8Chars(byte[] b, String excluded, boolean newlineTab) {
        int count = 0;
        int i = 0;
        while (i < b.length) {
            int c = b[i] & 0xFF;
            int len;
            if (c >= 0x20 && c < 0x80 || newlineTab && (c == '\n' || c == '\t')) {
                if (excluded.indexOf(c) >= 0) {
                    return 0;
                }
                len = 1;
            } else if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
            } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
            } else {
                return 0;
            }
            if (i + len > b.length) {
                return 0;
            }
            for (int k = 1; k < len; k++) {
                int d = b[i + k] & 0xFF;
                int lo = 0x80;
                int hi = 0xBF;
                if (k == 1) {
                    lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
                    hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
                }
                if (d < lo || d > hi) {
                    return 0;
                }
            }
            i += len;
            count++;
        }
        return count;
    }

    /**
     * A trie of token bytes in preorder arrays: node 0 is the root, a node's subtree is [node, end[node]),
     * its first child (if any) is node + 1 and the next sibling of child c is end[c]. The tokens whose bytes
     * end at a node are tokens[tokStart[node] .. tokStart[node] + tokCount[node]).
     */
    static final class Trie {
        final byte[] edge;
        final int[] end;
        final int[] tokStart;
        final int[] tokCount;
        final int[] tokens;
        final int maxDepth;

        private Trie(byte[] edge, int[] end, int[] tokStart, int[] tokCount, int[] tokens, int maxDepth) {
            this.edge = edge;
            this.end = end;
            this.tokStart = tokStart;
            this.tokCount = tokCount;
            this.tokens = tokens;
            this.maxDepth = maxDepth;
        }

        /** The trie of the tokens {@code ids}, which must be sorted by their bytes (unsigned). */
        static Trie of(byte[][] bytes, List<Integer> ids) {
            Integer[] sorted = ids.toArray(Integer[]::new);
            int capacity = 1;
            int maxDepth = 0;
            for (int id : sorted) {
                capacity += bytes[id].length; // upper bound on the node count
                maxDepth = Math.max(maxDepth, bytes[id].length);
            }
            byte[] edge = new byte[capacity];
            int[] end = new int[capacity];
            int[] tokStart = new int[capacity];
            int[] tokCount = new int[capacity];
            int[] tokens = new int[sorted.length];
            int[] path = new int[maxDepth + 1];
            int depth = 0; // path[0..depth] is the current path; path[0] = root
            int nodes = 1;
            byte[] prev = new byte[0];
            for (int k = 0; k < sorted.length; k++) {
                byte[] b = bytes[sorted[k]];
                int lcp = 0;
                while (lcp < prev.length && lcp < b.length && prev[lcp] == b[lcp]) {
                    lcp++;
                }
                while (depth > lcp) {
                    end[path[depth--]] = nodes;
                }
                for (int d = lcp; d < b.length; d++) {
                    edge[nodes] = b[d];
                    path[++depth] = nodes++;
                }
                int node = path[b.length];
                if (tokCount[node]++ == 0) {
                    tokStart[node] = k;
                }
                tokens[k] = sorted[k];
                prev = b;
            }
            while (depth >= 0) {
                end[path[depth--]] = nodes;
            }
            return new Trie(Arrays.copyOf(edge, nodes), Arrays.copyOf(end, nodes), Arrays.copyOf(tokStart, nodes),
                Arrays.copyOf(tokCount, nodes), tokens, maxDepth);
        }

        int nodeCount() {
            return edge.length;
        }
    }
}
