package dev.gemma4j.tokenizer;

/**
 * BPE merge rules keyed by the pair (left symbol id, right symbol id): open addressing over a {@code long}
 * key, giving the merge's rank and the id of the merged symbol. Key and value share a cache line (one
 * {@code long[]} of key/value pairs), so a lookup costs about one cache miss. The first rule inserted for a
 * pair wins.
 */
final class MergeTable {
    private static final long EMPTY = -1L;

    private final long[] slots; // [2i] key, [2i+1] rank << 32 | result
    private final int mask;
    private int size;

    MergeTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        slots = new long[2 * capacity];
        for (int i = 0; i < capacity; i++) {
            slots[2 * i] = EMPTY;
        }
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
        while (slots[2 * i] != EMPTY) {
            if (slots[2 * i] == k) {
                return false;
            }
            i = (i + 1) & mask;
        }
        if (size + 1 > (mask + 1) * 3 / 4) {
            throw new IllegalStateException("merge table full");
        }
        slots[2 * i] = k;
        slots[2 * i + 1] = ((long) rank << 32) | (result & 0xffffffffL);
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
            long s = slots[2 * i];
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
        return (int) (slots[2 * slot + 1] >>> 32);
    }

    int resultAt(int slot) {
        return (int) slots[2 * slot + 1];
    }

    int size() {
        return size;
    }
}
