package dev.gemma4j.structured;

import dev.gemma4j.sampling.LogitsProcessor;
import java.util.ArrayList;
import java.util.List;

/**
 * Constrains generation to outputs of a {@link JsonGrammar}: before each sampling step it computes the set of
 * tokens whose text can continue a valid output (the end tokens only once the output may end) and sets every
 * other logit to negative infinity; after sampling it advances the automaton by the chosen token's bytes.
 * One instance per request; not thread-safe.
 *
 * <pre>
 * TokenIndex index = TokenIndex.of(tokenizer, stops.ids());          // once per model
 * JsonGrammar g = JsonSchemaCompiler.compile(schema, strict);        // per request; may throw UnsupportedSchemaException
 * Generator.generate(engine, session, prompt, sampler, stops, max, new JsonConstraint(index, g), listener);
 * </pre>
 */
public final class JsonConstraint implements LogitsProcessor {
    private final TokenIndex index;
    private final JsonMatcher matcher;
    /** whether the grammar may use marker tokens (Gemma's tool-call syntax); JSON never does */
    private final boolean markers;
    private final long[] allowed;
    /** reused successor lists, one per trie depth */
    private final List<List<JsonAutomaton.Frame>> scratch = new ArrayList<>();
    private boolean ended;

    public JsonConstraint(TokenIndex index, JsonGrammar grammar) {
        this.index = index;
        this.matcher = grammar.matcher();
        this.markers = grammar.usesMarkers;
        this.allowed = new long[(index.vocabSize + 63) >>> 6];
    }

    @Override
    public void process(float[] logits) {
        computeMask();
        int n = Math.min(logits.length, index.vocabSize);
        boolean any = false;
        for (int w = 0; w < allowed.length; w++) {
            long bits = allowed[w];
            any |= bits != 0;
            int base = w << 6;
            int top = Math.min(64, n - base);
            if (bits == -1L || top <= 0) {
                continue;
            }
            if (bits == 0) {
                java.util.Arrays.fill(logits, base, base + top, Float.NEGATIVE_INFINITY); // most words, outside strings
                continue;
            }
            for (int i = 0; i < top; i++) {
                if ((bits & (1L << i)) == 0) {
                    logits[base + i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        for (int i = index.vocabSize; i < logits.length; i++) {
            logits[i] = Float.NEGATIVE_INFINITY; // padding rows of the output matrix, if any
        }
        if (!any) {
            throw new IllegalStateException("no token of the vocabulary can continue the JSON output at " + matcher);
        }
    }

    @Override
    public void accept(int token) {
        if (ended) {
            throw new IllegalStateException("the output has already ended");
        }
        if (index.isEnd(token)) {
            if (!matcher.canEnd()) {
                throw new IllegalStateException("end token " + token + " before the JSON value is complete");
            }
            ended = true;
            return;
        }
        byte[] b = token >= 0 && token < index.vocabSize ? index.bytes[token] : null;
        boolean marker = b != null && (index.markers[token >>> 6] & (1L << token)) != 0;
        if (b == null || b.length == 0 || (marker && !markers) || !matcher.advance(b)) {
            throw new IllegalStateException("token " + token + " cannot continue the JSON output");
        }
    }

    /** Whether the output so far is a complete value (an end token is allowed now). */
    public boolean canEnd() {
        return matcher.canEnd();
    }

    /** Whether the value is complete and nothing may be appended: the caller may stop without sampling. */
    public boolean isComplete() {
        return ended || matcher.isComplete();
    }

    @Override
    public boolean forcesEnd() {
        return isComplete();
    }

    /**
     * The allowed tokens of the next step as a bit set over token ids (bit i of word i/64); computed fresh,
     * the array is reused by the next call.
     */
    public long[] allowedTokens() {
        computeMask();
        return allowed;
    }

    public boolean isAllowed(int token) {
        return (allowed[token >>> 6] & (1L << token)) != 0;
    }

    private void computeMask() {
        java.util.Arrays.fill(allowed, 0L);
        if (ended) {
            return;
        }
        JsonAutomaton.Frame[] state = matcher.state();
        TokenIndex.Plain plain = plainKind(state);
        if (plain != null) {
            // inside a string, at a character boundary: plain tokens are decided by their length alone
            allowPlain(plain, plainRoom(state));
            walk(plain.rest, 0, state, 0);
        } else {
            walk(index.all, 0, state, 0);
        }
        if (!markers) {
            for (int w = 0; w < allowed.length; w++) {
                allowed[w] &= ~index.markers[w];
            }
        }
        if (matcher.canEnd()) {
            for (int e : index.endTokens) {
                allowed[e >>> 6] |= 1L << e;
            }
        }
    }

    /**
     * The plain-token class that applies when every thread is inside the same kind of string at a character
     * boundary in its ordinary state (JSON or Gemma syntax), else null (walk the whole trie).
     */
    private TokenIndex.Plain plainKind(JsonAutomaton.Frame[] state) {
        boolean json = true;
        boolean gemma = true;
        for (JsonAutomaton.Frame f : state) {
            json &= f instanceof JsonAutomaton.Str s && s.esc() == 0 && s.utf8() == 0;
            gemma &= f instanceof JsonAutomaton.GStr g && g.open() == 5 && g.utf8() == 0 && g.tail() == 0;
        }
        return json ? index.json : gemma ? index.gemma : null;
    }

    /** The most code points a plain token may have: the largest room of the threads (one must accept it). */
    private static int plainRoom(JsonAutomaton.Frame[] state) {
        int room = 0;
        for (JsonAutomaton.Frame f : state) {
            Grammar.Str node = f instanceof JsonAutomaton.Str s ? s.node() : ((JsonAutomaton.GStr) f).node();
            int len = f instanceof JsonAutomaton.Str s ? s.len() : ((JsonAutomaton.GStr) f).len();
            room = Math.max(room, node.max < 0 ? Integer.MAX_VALUE : node.max - len);
        }
        return room;
    }

    private void allowPlain(TokenIndex.Plain plain, int room) {
        int[][] byChars = plain.byChars;
        if (room >= byChars.length - 1) {
            for (int w = 0; w < allowed.length; w++) {
                allowed[w] |= plain.bits[w];
            }
            return;
        }
        for (int c = 1; c <= room; c++) {
            for (int id : byChars[c]) {
                allowed[id >>> 6] |= 1L << id;
            }
        }
    }

    /** Allows every token below trie node {@code node} whose bytes the automaton accepts from {@code state}. */
    private void walk(TokenIndex.Trie t, int node, JsonAutomaton.Frame[] state, int depth) {
        while (scratch.size() <= depth) {
            scratch.add(new ArrayList<>(4));
        }
        List<JsonAutomaton.Frame> out = scratch.get(depth);
        int[] end = t.end;
        for (int c = node + 1; c < end[node]; c = end[c]) {
            JsonAutomaton.Frame[] next = JsonMatcher.step(state, t.edge[c] & 0xFF, out);
            if (next == null) {
                continue; // no token through this byte
            }
            for (int k = t.tokStart[c], stop = k + t.tokCount[c]; k < stop; k++) {
                int id = t.tokens[k];
                allowed[id >>> 6] |= 1L << id;
            }
            if (end[c] > c + 1) {
                walk(t, c, next, depth + 1);
            }
        }
    }
}
