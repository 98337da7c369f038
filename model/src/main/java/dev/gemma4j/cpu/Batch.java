package dev.gemma4j.cpu;

/**
 * Rows pushed through the layers together: row {@code b} is token {@code tokens[b]} of session
 * {@code sessions[b]} at position {@code positions[b]}. A prefill chunk is many rows of one session; a
 * multi-session decoding step is one row per session. Reused; never reallocated.
 */
final class Batch {
    final int[] tokens;
    final int[] positions;
    final CpuSession[] sessions;
    int size;

    Batch(int capacity) {
        tokens = new int[capacity];
        positions = new int[capacity];
        sessions = new CpuSession[capacity];
    }

    void clear() {
        java.util.Arrays.fill(sessions, 0, size, null);
        size = 0;
    }

    void add(CpuSession s, int token, int position) {
        tokens[size] = token;
        positions[size] = position;
        sessions[size] = s;
        size++;
    }
}
