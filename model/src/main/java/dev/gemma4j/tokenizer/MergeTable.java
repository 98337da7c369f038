package dev.gemma4j.tokenizer;

/**
 * BPE merge rules keyed by the pair (left symbol id, right symbol id): open addressing over a {@code long}
 * key, giving the merge's rank and the id of the merged symbol. The first rule inserted for a pair wins.
 */
final class MergeTable {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] ranks;
    private final int[] results;
    private final int mask;
    private int size;

    MergeTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        java.util.Arrays.fill(keys, EMPTY);
        ranks = new int[capacity];
        results = new int[capacity];
        mask = capacity - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xffffffffL);
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        h ^= h >>> 29;
        return (int) h & mask;
    }

    /** Adds a rule unless the pair already has one; returns whether it was added. */
    boolean putIfAbsent(int left, int right, int rank, int result) {
        long k = key(left, right);
        int i = slot(k, mask);
        while (keys[i] != EMPTY) {
            if (keys[i] == k) {
                return false;
            }
            i = (i + 1) & mask;
        }
        if (size + 1 > keys.length * 3 / 4) {
            throw new IllegalStateException("merge table full");
        }
        keys[i] = k;
        ranks[i] = rank;
        results[i] = result;
        size++;
        return true;
    }

    /** Slot of the rule for the pair, or -1 if the pair has none. */
    int find(int left, int right) {
        if (left < 0 || right < 0) {
            return -1;
        }
        long k = key(left, right);
        int i = slot(k, mask);
        while (true) {
            long s = keys[i];
            if (s == k) {
                return i;
            }
            if (s == EMPTY) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    int rankAt(int slot) {
        return ranks[slot];
    }

    int resultAt(int slot) {
        return results[slot];
    }

    int size() {
        return size;
    }
}
