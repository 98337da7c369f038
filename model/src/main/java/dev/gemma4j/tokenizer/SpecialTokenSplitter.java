package dev.gemma4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits raw text (UTF-8 bytes) at occurrences of special tokens, with llama.cpp's result: the candidate
 * tokens are taken one after another in priority order (longest UTF-8 text first); each takes every
 * occurrence, left to right and without overlapping itself, that lies wholly inside text no earlier token
 * took. Instead of one search per token (there are thousands), a byte trie finds every occurrence of every
 * candidate in one pass over the text, starting only at bytes that begin some candidate; the occurrences
 * are then granted in priority order.
 */
final class SpecialTokenSplitter {
    /** One piece of the split: a special token id, or raw text {@code [start, end)} when {@code token < 0}. */
    record Fragment(int token, int start, int end) {
        boolean isText() {
            return token < 0;
        }
    }

    private final int[] tokenIds;      // by priority index
    private final int[] tokenLengths;  // by priority index
    private final boolean[] firstByte = new boolean[256];
    // trie: node -> child per byte, via a map keyed by (node << 8 | byte)
    private final MergeTable edges;    // reused as a (long key -> int) map: rank field holds the child node
    private final int[] terminal;      // node -> priority index of the candidate ending there, or -1

    /** {@code candidates} in priority order, with their texts. */
    SpecialTokenSplitter(int[] candidates, String[] texts) {
        int n = candidates.length;
        tokenIds = candidates.clone();
        tokenLengths = new int[n];
        long totalBytes = 0;
        byte[][] bytes = new byte[n][];
        for (int i = 0; i < n; i++) {
            bytes[i] = texts[candidates[i]].getBytes(StandardCharsets.UTF_8);
            tokenLengths[i] = bytes[i].length;
            totalBytes += bytes[i].length;
        }
        edges = new MergeTable((int) Math.min(Integer.MAX_VALUE / 4, totalBytes + 1));
        int[] term = new int[(int) totalBytes + 1];
        Arrays.fill(term, -1);
        int nodes = 1;
        for (int i = 0; i < n; i++) {
            byte[] t = bytes[i];
            if (t.length == 0) {
                continue;
            }
            firstByte[t[0] & 0xFF] = true;
            int node = 0;
            for (byte b : t) {
                int slot = edges.find(node, b & 0xFF);
                if (slot >= 0) {
                    node = edges.rankAt(slot);
                } else {
                    edges.putIfAbsent(node, b & 0xFF, nodes, 0);
                    node = nodes++;
                }
            }
            if (term[node] < 0) { // an identical text earlier in priority order keeps it
                term[node] = i;
            }
        }
        terminal = Arrays.copyOf(term, nodes);
    }

    int candidateCount() {
        return tokenIds.length;
    }

    /** Splits {@code text[0, length)}; an empty text gives no fragments. */
    List<Fragment> split(byte[] text, int length) {
        List<Fragment> out = new ArrayList<>();
        if (length == 0) {
            return out;
        }
        // occurrences packed as (priority << 32 | start), sorted = granted order
        long[] found = new long[16];
        int count = 0;
        for (int p = 0; p < length; p++) {
            if (!firstByte[text[p] & 0xFF]) {
                continue;
            }
            int node = 0;
            for (int q = p; q < length; q++) {
                int slot = edges.find(node, text[q] & 0xFF);
                if (slot < 0) {
                    break;
                }
                node = edges.rankAt(slot);
                int t = terminal[node];
                if (t >= 0) {
                    if (count == found.length) {
                        found = Arrays.copyOf(found, count * 2);
                    }
                    found[count++] = ((long) t << 32) | p;
                }
            }
        }
        if (count == 0) {
            out.add(new Fragment(-1, 0, length));
            return out;
        }
        Arrays.sort(found, 0, count);
        // takenAt[i] = priority index of the occurrence granted at byte i (-1: none); taken[i]: byte i is granted
        int[] takenAt = new int[length];
        Arrays.fill(takenAt, -1);
        boolean[] taken = new boolean[length];
        for (int k = 0; k < count; k++) {
            int t = (int) (found[k] >>> 32);
            int start = (int) found[k];
            int end = start + tokenLengths[t];
            boolean free = true;
            for (int i = start; i < end; i++) {
                if (taken[i]) {
                    free = false;
                    break;
                }
            }
            if (free) {
                Arrays.fill(taken, start, end, true);
                takenAt[start] = t;
            }
        }
        int textStart = 0;
        int p = 0;
        while (p < length) {
            int t = takenAt[p];
            if (t >= 0) {
                if (p > textStart) {
                    out.add(new Fragment(-1, textStart, p));
                }
                out.add(new Fragment(tokenIds[t], p, p + tokenLengths[t]));
                p += tokenLengths[t];
                textStart = p;
            } else {
                p++;
            }
        }
        if (textStart < length) {
            out.add(new Fragment(-1, textStart, length));
        }
        return out;
    }
}
