package dev.gemma4j.structured;

import java.util.List;

/**
 * The pushdown automaton over UTF-8 bytes that recognises the outputs a {@link Grammar} allows.
 *
 * <p>A thread is an immutable stack of frames (each frame links to its parent, the container in the state it
 * will be in once the child value is done); a state is a set of threads, because anyOf alternatives of the
 * same type stay ambiguous for a while. Working on bytes rather than characters makes byte-fallback tokens
 * and tokens that split a UTF-8 character need no special case.
 *
 * <p>Whitespace policy: no whitespace before or after the top-level value; between structural tokens (after
 * {@code {[,:} and before {@code }],:}) at most one run, either a single space or a newline followed by up to
 * {@value #MAX_INDENT} spaces or tabs. Bounding whitespace keeps a weak model from looping on it forever.
 * Numbers are bounded the same way: at most {@value #MAX_INT_DIGITS} integer digits,
 * {@value #MAX_FRAC_DIGITS} fraction digits and {@value #MAX_EXP_DIGITS} exponent digits. String escapes are
 * limited to the short forms and {@code \}{@code uXXXX} outside the surrogate range (a raw UTF-8 character is
 * always available instead).
 */
final class JsonAutomaton {
    static final int MAX_INDENT = 20;
    static final int MAX_INT_DIGITS = 16;
    static final int MAX_FRAC_DIGITS = 16;
    static final int MAX_EXP_DIGITS = 3;

    private JsonAutomaton() {
    }

    /** A stack frame; {@code parent} is null only below {@link Done}. */
    sealed interface Frame permits Done, Value, Str, GStr, Num, Lit, Key, Obj, MapObj, Arr, TCNext, TCName, TCClose {
    }

    /** The top-level value is complete; nothing may follow. */
    record Done() implements Frame {
    }

    static final Done DONE = new Done();

    /** A value of {@code node} must start here. */
    record Value(Grammar.Node node, Frame parent) implements Frame {
    }

    /**
     * Inside a string: {@code len} code points so far, {@code utf8} = continuation bytes still expected
     * (low 2 bits) and the allowed range of the next one (bits 2..), {@code esc} = escape phase.
     */
    record Str(Grammar.Str node, int len, int utf8, int esc, Frame parent) implements Frame {
    }

    /**
     * A string in Gemma 4's dict syntax: {@code open} bytes of the opening {@code <|"|>} seen (5: inside),
     * {@code len} code points of content, {@code utf8} as in {@link Str}, {@code tail} what the last bytes
     * were (see {@link #gemmaString}).
     */
    record GStr(Grammar.Str node, int open, int len, int utf8, int tail, Frame parent) implements Frame {
    }

    /** Between tool calls: {@code count} calls done. */
    record TCNext(Grammar.ToolCalls node, int count, Frame parent) implements Frame {
    }

    /** Inside {@code <|tool_call>call:NAME}. */
    record TCName(Grammar.LitTrie at, Grammar.ToolCalls node, int count, Frame parent) implements Frame {
    }

    /** Inside the closing {@code <tool_call|>} of call number {@code count}. */
    record TCClose(Grammar.LitTrie at, Grammar.ToolCalls node, int count, Frame parent) implements Frame {
    }

    /** Inside a number: phase and the length of the current digit run. */
    record Num(boolean integer, int phase, int digits, Frame parent) implements Frame {
    }

    /** Inside a literal (enum/const/boolean/null). */
    record Lit(Grammar.LitTrie at, Frame parent) implements Frame {
    }

    /** Inside a declared property key of {@code obj} (which is in phase OPEN or AFTER_COMMA). */
    record Key(Grammar.LitTrie at, Obj obj) implements Frame {
    }

    /** An object with declared properties; {@code next} is the first property that may still come (or the one being read). */
    record Obj(Grammar.Obj node, int next, int phase, int ws, Frame parent) implements Frame {
    }

    record MapObj(Grammar.MapObj node, int phase, int ws, Frame parent) implements Frame {
    }

    /** An array with {@code count} items done (or begun, once past the comma). */
    record Arr(Grammar.Arr node, int count, int phase, int ws, Frame parent) implements Frame {
    }

    // container phases: which gap we are in
    static final int OPEN = 0;          // after { or [
    static final int AFTER_VALUE = 1;   // after a member value / array item
    static final int AFTER_COMMA = 2;
    static final int AFTER_KEY = 3;
    static final int AFTER_COLON = 4;

    // number phases
    static final int N_START = 0;
    static final int N_MINUS = 1;
    static final int N_ZERO = 2;
    static final int N_INT = 3;
    static final int N_DOT = 4;
    static final int N_FRAC = 5;
    static final int N_E = 6;
    static final int N_ESIGN = 7;
    static final int N_EXP = 8;

    // UTF-8: allowed range of the next continuation byte (bits 2.. of Str.utf8)
    private static final int R_ANY = 0;   // 80..BF
    private static final int R_E0 = 1;    // A0..BF (no overlong 3-byte forms)
    private static final int R_ED = 2;    // 80..9F (no surrogates)
    private static final int R_F0 = 3;    // 90..BF (no overlong 4-byte forms)
    private static final int R_F4 = 4;    // 80..8F (nothing above U+10FFFF)

    // escape phases
    private static final int E_NONE = 0;
    private static final int E_BACKSLASH = 1;
    private static final int E_HEX1 = 2;
    private static final int E_HEX2 = 3;
    private static final int E_HEX2_D = 4;   // after \\uD: the next digit must avoid 8..F (surrogates)
    private static final int E_HEX3 = 5;
    private static final int E_HEX4 = 6;

    static Frame start(Grammar.Node root) {
        return new Value(root, DONE);
    }

    /** Whether the thread may end here (the top-level value is complete, or a number/literal that can be). */
    static boolean canEnd(Frame f) {
        while (true) {
            switch (f) {
                case Done d -> {
                    return true;
                }
                case Num n -> {
                    if (!numberComplete(n.phase())) {
                        return false;
                    }
                    f = n.parent();
                }
                case Lit l -> {
                    if (l.at().terminal < 0) {
                        return false;
                    }
                    f = l.parent();
                }
                case TCNext t -> {
                    if (t.count() < t.node().min) {
                        return false;
                    }
                    f = t.parent();
                }
                default -> {
                    return false;
                }
            }
        }
    }

    /** Feeds byte {@code b} (0..255) to thread {@code f}, adding each successor thread to {@code out}. */
    static void step(Frame f, int b, List<Frame> out) {
        switch (f) {
            case Done d -> {
            }
            case Value v -> startValue(v.node(), v.parent(), b, out);
            case Str s -> string(s, b, out);
            case GStr s -> gemmaString(s, b, out);
            case TCNext t -> {
                Grammar.LitTrie c = t.count() < t.node().max ? t.node().names.child(b) : null;
                if (c != null) {
                    out.add(new TCName(c, t.node(), t.count(), t.parent()));
                }
            }
            case TCName t -> {
                Grammar.LitTrie c = t.at().child(b);
                if (c != null) {
                    out.add(new TCName(c, t.node(), t.count(), t.parent()));
                }
                if (t.at().terminal >= 0) {
                    // the name is complete (it may also be the prefix of a longer one): the arguments start
                    startValue(t.node().args[t.at().terminal],
                        new TCClose(t.node().close, t.node(), t.count() + 1, t.parent()), b, out);
                }
            }
            case TCClose t -> {
                Grammar.LitTrie c = t.at().child(b);
                if (c != null) {
                    out.add(c.children.length == 0 ? new TCNext(t.node(), t.count(), t.parent())
                        : new TCClose(c, t.node(), t.count(), t.parent()));
                }
            }
            case Num n -> number(n, b, out);
            case Lit l -> literal(l, b, out);
            case Key k -> key(k, b, out);
            case Obj o -> object(o, b, out);
            case MapObj m -> map(m, b, out);
            case Arr a -> array(a, b, out);
        }
    }

    private static void startValue(Grammar.Node node, Frame parent, int b, List<Frame> out) {
        switch (node) {
            case Grammar.Any any -> {
                switch (b) {
                    case '{' -> out.add(new MapObj(any.object, OPEN, 0, parent));
                    case '[' -> out.add(new Arr(any.array, 0, OPEN, 0, parent));
                    case '"' -> out.add(new Str(FREE, 0, 0, E_NONE, parent));
                    case 't', 'f', 'n' -> literal(new Lit(KEYWORDS, parent), b, out);
                    default -> {
                        if (b == '-' || isDigit(b)) {
                            number(new Num(false, N_START, 0, parent), b, out);
                        }
                    }
                }
            }
            case Grammar.Obj o -> {
                if (b == '{') {
                    out.add(new Obj(o, 0, OPEN, 0, parent));
                }
            }
            case Grammar.MapObj m -> {
                if (b == '{') {
                    out.add(new MapObj(m, OPEN, 0, parent));
                }
            }
            case Grammar.Arr a -> {
                if (b == '[') {
                    out.add(new Arr(a, 0, OPEN, 0, parent));
                }
            }
            case Grammar.Str s -> {
                if (b == '"' && !s.gemma) {
                    out.add(new Str(s, 0, 0, E_NONE, parent));
                } else if (b == '<' && s.gemma) {
                    out.add(new GStr(s, 1, 0, 0, T_NONE, parent));
                }
            }
            case Grammar.ToolCalls t -> step(new TCNext(t, 0, parent), b, out);
            case Grammar.Num n -> number(new Num(n.integer, N_START, 0, parent), b, out);
            case Grammar.Lit l -> literal(new Lit(l.root, parent), b, out);
            case Grammar.Union u -> {
                for (Grammar.Node alt : u.alternatives) {
                    startValue(alt, parent, b, out);
                }
            }
            case Grammar.Ref r -> startValue(r.target, parent, b, out);
        }
    }

    private static final Grammar.Str FREE = new Grammar.Str(0, -1);
    private static final Grammar.LitTrie KEYWORDS = Grammar.LitTrie.of(List.of(
        "true".getBytes(), "false".getBytes(), "null".getBytes()));

    private static boolean isDigit(int b) {
        return b >= '0' && b <= '9';
    }

    private static boolean isHex(int b) {
        return isDigit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
    }

    private static void string(Str s, int b, List<Frame> out) {
        int max = s.node().max;
        if (s.utf8() != 0) {
            int range = s.utf8() >>> 2;
            int lo = range == R_E0 ? 0xA0 : range == R_F0 ? 0x90 : 0x80;
            int hi = range == R_ED ? 0x9F : range == R_F4 ? 0x8F : 0xBF;
            if (b >= lo && b <= hi) {
                int left = (s.utf8() & 3) - 1;
                out.add(new Str(s.node(), s.len(), left, E_NONE, s.parent())); // later bytes: any 80..BF
            }
            return;
        }
        switch (s.esc()) {
            case E_NONE -> {
                if (b == '"') {
                    if (s.len() >= s.node().min) {
                        out.add(s.parent());
                    }
                    return;
                }
                if (max >= 0 && s.len() >= max) {
                    return; // a further character would be too many
                }
                int len = s.len() + 1; // the character counts from its first byte
                if (b == '\\') {
                    out.add(new Str(s.node(), len, 0, E_BACKSLASH, s.parent()));
                } else if (b >= 0x20 && b < 0x80) {
                    out.add(new Str(s.node(), len, 0, E_NONE, s.parent()));
                } else if (b >= 0xC2 && b <= 0xDF) {
                    out.add(new Str(s.node(), len, 1, E_NONE, s.parent()));
                } else if (b >= 0xE0 && b <= 0xEF) {
                    int range = b == 0xE0 ? R_E0 : b == 0xED ? R_ED : R_ANY;
                    out.add(new Str(s.node(), len, 2 | range << 2, E_NONE, s.parent()));
                } else if (b >= 0xF0 && b <= 0xF4) {
                    int range = b == 0xF0 ? R_F0 : b == 0xF4 ? R_F4 : R_ANY;
                    out.add(new Str(s.node(), len, 3 | range << 2, E_NONE, s.parent()));
                }
            }
            case E_BACKSLASH -> {
                switch (b) {
                    case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> out.add(new Str(s.node(), s.len(), 0, E_NONE, s.parent()));
                    case 'u' -> out.add(new Str(s.node(), s.len(), 0, E_HEX1, s.parent()));
                    default -> {
                    }
                }
            }
            case E_HEX1 -> {
                if (isHex(b)) {
                    out.add(new Str(s.node(), s.len(), 0, b == 'd' || b == 'D' ? E_HEX2_D : E_HEX2, s.parent()));
                }
            }
            case E_HEX2, E_HEX2_D -> {
                boolean surrogate = s.esc() == E_HEX2_D && (b >= '8' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F');
                if (isHex(b) && !surrogate) {
                    out.add(new Str(s.node(), s.len(), 0, E_HEX3, s.parent()));
                }
            }
            case E_HEX3 -> {
                if (isHex(b)) {
                    out.add(new Str(s.node(), s.len(), 0, E_HEX4, s.parent()));
                }
            }
            case E_HEX4 -> {
                if (isHex(b)) {
                    out.add(new Str(s.node(), s.len(), 0, E_NONE, s.parent()));
                }
            }
            default -> throw new IllegalStateException("escape phase " + s.esc());
        }
    }

    private static final byte[] GEMMA_QUOTE = "<|\"|>".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    // what the last bytes of a Gemma string were
    private static final int T_NONE = 0;   // nothing special
    private static final int T_PIPE = 1;   // content ended with '|' (so '>' may not follow)
    private static final int T_LT = 2;     // a '<' not yet known to be content or the closing quote
    private static final int T_CLOSE2 = 3; // "<|" seen: only the closing quote may follow
    private static final int T_CLOSE3 = 4; // "<|\""
    private static final int T_CLOSE4 = 5; // "<|\"|"

    /**
     * A string of Gemma 4's dict syntax: {@code <|"|>}, raw text, {@code <|"|>}. The text may not contain
     * {@code <|} or {@code |>}, so that it can never hold the closing quote nor be mistaken for a marker token
     * such as {@code <tool_call|>}; it may hold quotes, backslashes, newlines and tabs (the parser escapes
     * them), no other control characters.
     */
    private static void gemmaString(GStr s, int b, List<Frame> out) {
        if (s.open() < GEMMA_QUOTE.length) {
            if (b == GEMMA_QUOTE[s.open()]) {
                out.add(new GStr(s.node(), s.open() + 1, 0, 0, T_NONE, s.parent()));
            }
            return;
        }
        if (s.utf8() != 0) {
            int range = s.utf8() >>> 2;
            int lo = range == R_E0 ? 0xA0 : range == R_F0 ? 0x90 : 0x80;
            int hi = range == R_ED ? 0x9F : range == R_F4 ? 0x8F : 0xBF;
            if (b >= lo && b <= hi) {
                out.add(new GStr(s.node(), s.open(), s.len(), (s.utf8() & 3) - 1, T_NONE, s.parent()));
            }
            return;
        }
        int tail = s.tail();
        switch (tail) {
            case T_CLOSE2, T_CLOSE3 -> {
                if (b == GEMMA_QUOTE[tail == T_CLOSE2 ? 2 : 3]) {
                    out.add(new GStr(s.node(), s.open(), s.len(), 0, tail + 1, s.parent()));
                }
                return;
            }
            case T_CLOSE4 -> {
                if (b == '>' && s.len() >= s.node().min) {
                    out.add(s.parent());
                }
                return;
            }
            case T_LT -> {
                if (b == '|') {
                    out.add(new GStr(s.node(), s.open(), s.len(), 0, T_CLOSE2, s.parent()));
                    return;
                }
            }
            default -> {
            }
        }
        // the pending '<' (if any) turns out to be text
        int len = s.len() + (tail == T_LT ? 1 : 0);
        int max = s.node().max;
        if (b == '<') {
            if (max < 0 || len <= max) {
                out.add(new GStr(s.node(), s.open(), len, 0, T_LT, s.parent()));
            }
            return;
        }
        if (max >= 0 && len + 1 > max) {
            return;
        }
        if (b == '>' && tail == T_PIPE) {
            return;
        }
        int next = b == '|' ? T_PIPE : T_NONE;
        if (b >= 0x20 && b < 0x80 || b == '\n' || b == '\t') {
            out.add(new GStr(s.node(), s.open(), len + 1, 0, next, s.parent()));
        } else if (b >= 0xC2 && b <= 0xDF) {
            out.add(new GStr(s.node(), s.open(), len + 1, 1, T_NONE, s.parent()));
        } else if (b >= 0xE0 && b <= 0xEF) {
            int range = b == 0xE0 ? R_E0 : b == 0xED ? R_ED : R_ANY;
            out.add(new GStr(s.node(), s.open(), len + 1, 2 | range << 2, T_NONE, s.parent()));
        } else if (b >= 0xF0 && b <= 0xF4) {
            int range = b == 0xF0 ? R_F0 : b == 0xF4 ? R_F4 : R_ANY;
            out.add(new GStr(s.node(), s.open(), len + 1, 3 | range << 2, T_NONE, s.parent()));
        }
    }

    static boolean numberComplete(int phase) {
        return phase == N_ZERO || phase == N_INT || phase == N_FRAC || phase == N_EXP;
    }

    private static void number(Num n, int b, List<Frame> out) {
        boolean digit = isDigit(b);
        switch (n.phase()) {
            case N_START, N_MINUS -> {
                if (b == '-' && n.phase() == N_START) {
                    out.add(new Num(n.integer(), N_MINUS, 0, n.parent()));
                } else if (b == '0') {
                    out.add(new Num(n.integer(), N_ZERO, 1, n.parent()));
                } else if (digit) {
                    out.add(new Num(n.integer(), N_INT, 1, n.parent()));
                }
                return;
            }
            case N_ZERO, N_INT -> {
                if (digit && n.phase() == N_INT && n.digits() < MAX_INT_DIGITS) {
                    out.add(new Num(n.integer(), N_INT, n.digits() + 1, n.parent()));
                    return;
                }
                if (!n.integer() && b == '.') {
                    out.add(new Num(false, N_DOT, 0, n.parent()));
                    return;
                }
                if (!n.integer() && (b == 'e' || b == 'E')) {
                    out.add(new Num(false, N_E, 0, n.parent()));
                    return;
                }
            }
            case N_DOT -> {
                if (digit) {
                    out.add(new Num(false, N_FRAC, 1, n.parent()));
                }
                return;
            }
            case N_FRAC -> {
                if (digit && n.digits() < MAX_FRAC_DIGITS) {
                    out.add(new Num(false, N_FRAC, n.digits() + 1, n.parent()));
                    return;
                }
                if (b == 'e' || b == 'E') {
                    out.add(new Num(false, N_E, 0, n.parent()));
                    return;
                }
            }
            case N_E -> {
                if (b == '+' || b == '-') {
                    out.add(new Num(false, N_ESIGN, 0, n.parent()));
                } else if (digit) {
                    out.add(new Num(false, N_EXP, 1, n.parent()));
                }
                return;
            }
            case N_ESIGN -> {
                if (digit) {
                    out.add(new Num(false, N_EXP, 1, n.parent()));
                }
                return;
            }
            case N_EXP -> {
                if (digit && n.digits() < MAX_EXP_DIGITS) {
                    out.add(new Num(false, N_EXP, n.digits() + 1, n.parent()));
                    return;
                }
            }
            default -> throw new IllegalStateException("number phase " + n.phase());
        }
        // a complete number ends at the first byte that cannot extend it; that byte belongs to the container
        if (numberComplete(n.phase()) && !digit) {
            step(n.parent(), b, out);
        }
    }

    private static void literal(Lit l, int b, List<Frame> out) {
        Grammar.LitTrie c = l.at().child(b);
        if (c != null) {
            out.add(c.children.length == 0 ? l.parent() : new Lit(c, l.parent()));
        }
        if (l.at().terminal >= 0 && l.at().children.length > 0) {
            // a literal that is a prefix of another (enum [1, 12]) may end here, like a number
            step(l.parent(), b, out);
        }
    }

    private static void key(Key k, int b, List<Frame> out) {
        Grammar.LitTrie c = k.at().child(b);
        Obj o = k.obj();
        int lo = o.next();
        int hi = Math.min(o.node().firstRequired[lo], o.node().props.length - 1);
        if (c == null || !c.hasIndexIn(lo, hi)) {
            return;
        }
        if (c.terminal >= 0) {
            out.add(new Obj(o.node(), c.terminal, AFTER_KEY, 0, o.parent()));
        } else {
            out.add(new Key(c, o));
        }
    }

    /** The whitespace run after {@code b}, or -1 if {@code b} may not extend run {@code ws}. */
    private static int whitespace(int ws, int b) {
        if (b == ' ') {
            return ws == 0 ? 1 : ws >= 2 && ws - 2 < MAX_INDENT ? ws + 1 : -1;
        }
        if (b == '\n') {
            return ws == 0 ? 2 : -1;
        }
        if (b == '\t') {
            return ws >= 2 && ws - 2 < MAX_INDENT ? ws + 1 : -1;
        }
        return -2; // not whitespace
    }

    private static void object(Obj o, int b, List<Frame> out) {
        int w = o.node().gemma ? -2 : whitespace(o.ws(), b); // Gemma's dict syntax: no whitespace at all
        if (w >= 0) {
            out.add(new Obj(o.node(), o.next(), o.phase(), w, o.parent()));
            return;
        }
        if (w == -1) {
            return;
        }
        Grammar.Obj node = o.node();
        int n = node.props.length;
        switch (o.phase()) {
            case OPEN, AFTER_VALUE -> {
                if (b == '}' && node.firstRequired[o.next()] == n) {
                    out.add(o.parent());
                } else if (b == ',' && o.phase() == AFTER_VALUE && o.next() < n) {
                    out.add(new Obj(node, o.next(), AFTER_COMMA, 0, o.parent()));
                } else if (o.phase() == OPEN && n > 0) {
                    key(new Key(node.keys, o), b, out); // the key trie knows how keys start ('"' in JSON)
                }
            }
            case AFTER_COMMA -> key(new Key(node.keys, o), b, out);
            case AFTER_KEY -> {
                if (b == ':') {
                    out.add(new Obj(node, o.next(), AFTER_COLON, 0, o.parent()));
                }
            }
            case AFTER_COLON -> startValue(node.props[o.next()].value(), new Obj(node, o.next() + 1, AFTER_VALUE, 0, o.parent()), b, out);
            default -> throw new IllegalStateException("object phase " + o.phase());
        }
    }

    private static void map(MapObj m, int b, List<Frame> out) {
        int w = whitespace(m.ws(), b);
        if (w >= 0) {
            out.add(new MapObj(m.node(), m.phase(), w, m.parent()));
            return;
        }
        if (w == -1) {
            return;
        }
        switch (m.phase()) {
            case OPEN, AFTER_VALUE -> {
                if (b == '}') {
                    out.add(m.parent());
                } else if (b == ',' && m.phase() == AFTER_VALUE) {
                    out.add(new MapObj(m.node(), AFTER_COMMA, 0, m.parent()));
                } else if (b == '"' && m.phase() == OPEN) {
                    out.add(new Str(FREE, 0, 0, E_NONE, new MapObj(m.node(), AFTER_KEY, 0, m.parent())));
                }
            }
            case AFTER_COMMA -> {
                if (b == '"') {
                    out.add(new Str(FREE, 0, 0, E_NONE, new MapObj(m.node(), AFTER_KEY, 0, m.parent())));
                }
            }
            case AFTER_KEY -> {
                if (b == ':') {
                    out.add(new MapObj(m.node(), AFTER_COLON, 0, m.parent()));
                }
            }
            case AFTER_COLON -> startValue(m.node().value, new MapObj(m.node(), AFTER_VALUE, 0, m.parent()), b, out);
            default -> throw new IllegalStateException("object phase " + m.phase());
        }
    }

    private static void array(Arr a, int b, List<Frame> out) {
        int w = a.node().gemma ? -2 : whitespace(a.ws(), b);
        if (w >= 0) {
            out.add(new Arr(a.node(), a.count(), a.phase(), w, a.parent()));
            return;
        }
        if (w == -1) {
            return;
        }
        Grammar.Arr node = a.node();
        switch (a.phase()) {
            case OPEN -> {
                if (b == ']' && node.min == 0) {
                    out.add(a.parent());
                } else if (node.max != 0) {
                    startValue(node.item, new Arr(node, 1, AFTER_VALUE, 0, a.parent()), b, out);
                }
            }
            case AFTER_VALUE -> {
                if (b == ']' && a.count() >= node.min) {
                    out.add(a.parent());
                } else if (b == ',' && (node.max < 0 || a.count() < node.max)) {
                    out.add(new Arr(node, a.count(), AFTER_COMMA, 0, a.parent()));
                }
            }
            case AFTER_COMMA -> startValue(node.item, new Arr(node, a.count() + 1, AFTER_VALUE, 0, a.parent()), b, out);
            default -> throw new IllegalStateException("array phase " + a.phase());
        }
    }
}
