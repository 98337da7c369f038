package dev.gemma4j.structured;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;

/**
 * Where a partial output stands in a {@link JsonGrammar}: advance it by bytes or text, ask whether the output
 * may end here. Mutable and single-threaded; {@link #copy()} is cheap (the state itself is immutable).
 */
public final class JsonMatcher {
    /**
     * Most threads a state may have. Alternatives of anyOf that share a prefix run side by side; nested
     * ambiguous unions could multiply them without bound, which is refused rather than left to slow down.
     */
    static final int MAX_THREADS = 1024;

    /** Threads of the automaton; empty once the input left the language. */
    private JsonAutomaton.Frame[] threads;
    /** reused successor list */
    private final List<JsonAutomaton.Frame> scratch = new ArrayList<>(4);

    JsonMatcher(JsonAutomaton.Frame start) {
        this.threads = new JsonAutomaton.Frame[] {start};
    }

    private JsonMatcher(JsonAutomaton.Frame[] threads) {
        this.threads = threads;
    }

    public JsonMatcher copy() {
        return new JsonMatcher(threads);
    }

    JsonAutomaton.Frame[] state() {
        return threads;
    }

    void setState(JsonAutomaton.Frame[] s) {
        threads = s;
    }

    /** Advances by one byte; false (and the matcher unchanged) if the byte cannot continue a valid output. */
    public boolean advance(int b) {
        JsonAutomaton.Frame[] next = step(threads, b & 0xFF, scratch);
        if (next == null) {
            return false;
        }
        threads = next;
        return true;
    }

    /** Advances by all bytes; false (and the matcher unchanged) if any cannot continue a valid output. */
    public boolean advance(byte[] bytes) {
        JsonAutomaton.Frame[] s = threads;
        for (byte b : bytes) {
            s = step(s, b & 0xFF, scratch);
            if (s == null) {
                return false;
            }
        }
        threads = s;
        return true;
    }

    public boolean advance(String text) {
        return advance(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Whether the output so far is a complete value of the grammar. */
    public boolean canEnd() {
        for (JsonAutomaton.Frame f : threads) {
            if (JsonAutomaton.canEnd(f)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the output is complete and nothing can be appended (only ending is possible). */
    public boolean isComplete() {
        return canEnd() && !canContinue();
    }

    /** Whether some byte can follow (tries all 256; not for per-token hot paths). */
    public boolean canContinue() {
        for (int b = 0; b < 256; b++) {
            if (step(threads, b, scratch) != null) {
                return true;
            }
        }
        return false;
    }

    /** Whether the whole text is a complete output of the grammar. */
    public static boolean matches(JsonGrammar g, String text) {
        JsonMatcher m = g.matcher();
        return m.advance(text) && m.canEnd();
    }

    /**
     * The successor state of {@code s} on byte {@code b}, or null if there is none; {@code scratch} is cleared
     * and reused. Duplicate threads (anyOf alternatives that converged) are merged.
     */
    static JsonAutomaton.Frame[] step(JsonAutomaton.Frame[] s, int b, List<JsonAutomaton.Frame> scratch) {
        scratch.clear();
        for (JsonAutomaton.Frame f : s) {
            JsonAutomaton.step(f, b, scratch);
        }
        int n = scratch.size();
        if (n == 0) {
            return null;
        }
        if (n == 1) {
            return new JsonAutomaton.Frame[] {scratch.get(0)};
        }
        JsonAutomaton.Frame[] merged = new HashSet<>(scratch).toArray(JsonAutomaton.Frame[]::new);
        if (merged.length > MAX_THREADS) {
            throw new IllegalStateException("the schema is too ambiguous here: " + merged.length
                + " anyOf/oneOf alternatives alive at once (limit " + MAX_THREADS + ")");
        }
        return merged;
    }

    @Override
    public String toString() {
        return Arrays.toString(threads);
    }
}
