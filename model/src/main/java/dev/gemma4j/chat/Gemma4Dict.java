package dev.gemma4j.chat;

/**
 * Converts Gemma 4's argument syntax ({@code {city:<|"|>Paris<|"|>,days:2}}) to JSON text
 * ({@code {"city":"Paris","days":2}}), following llama.cpp's grammar (spec §6.5, §8.7): keys are the
 * characters up to {@code :} (no {@code :} or {@code }}), copied verbatim and JSON-escaped; strings run from
 * {@code <|"|>} to the next {@code <|"|>} and are JSON-escaped; numbers (JSON syntax) are copied verbatim;
 * {@code true}, {@code false}, {@code null}; nested dicts and arrays. C-whitespace is allowed after
 * {@code {}, {@code [}, {@code ,} and {@code :} and before {@code }} and {@code ]}, not before {@code ,}.
 *
 * <p>Parsing may stop at the end of the available text: the result is then {@link Status#INCOMPLETE}
 * (everything so far could still become a dict), which lets the streaming parser wait for more text.
 * A {@link Status#MALFORMED} verdict never changes when more text arrives.
 */
final class Gemma4Dict {

    enum Status { COMPLETE, INCOMPLETE, MALFORMED }

    /** @param end the index just after the closing brace (COMPLETE only); @param json the JSON text (COMPLETE only) */
    record Result(Status status, int end, String json) {
    }

    private static final String QUOTE = "<|\"|>";

    private static final class Stop extends RuntimeException {
        final Status status;

        Stop(Status status) {
            super(null, null, false, false);
            this.status = status;
        }
    }

    private static final Stop INCOMPLETE = new Stop(Status.INCOMPLETE);
    private static final Stop MALFORMED = new Stop(Status.MALFORMED);

    private final CharSequence s;
    private int pos;
    private final StringBuilder json = new StringBuilder();

    private Gemma4Dict(CharSequence s, int start) {
        this.s = s;
        this.pos = start;
    }

    /** Parses the dict that starts at {@code start} (which must hold {@code {}). */
    static Result parse(CharSequence text, int start) {
        Gemma4Dict p = new Gemma4Dict(text, start);
        try {
            p.dict();
            return new Result(Status.COMPLETE, p.pos, p.json.toString());
        } catch (Stop stop) {
            return new Result(stop.status, -1, null);
        }
    }

    private char peek() {
        if (pos >= s.length()) {
            throw INCOMPLETE;
        }
        return s.charAt(pos);
    }

    private void expect(char c) {
        if (peek() != c) {
            throw MALFORMED;
        }
        pos++;
    }

    private void expectLiteral(String lit) {
        for (int i = 0; i < lit.length(); i++) {
            expect(lit.charAt(i));
        }
    }

    private void ws() {
        while (TemplateValues.isCSpace(peek())) {
            pos++;
        }
    }

    private void dict() {
        expect('{');
        ws();
        json.append('{');
        if (peek() == '}') {
            pos++;
            json.append('}');
            return;
        }
        member();
        while (true) {
            if (peek() == ',') {
                pos++;
                ws();
                json.append(',');
                member();
                continue;
            }
            ws();
            expect('}');
            json.append('}');
            return;
        }
    }

    private void member() {
        int keyStart = pos;
        while (true) {
            char c = peek();
            if (c == ':') {
                break;
            }
            if (c == '}') {
                throw MALFORMED;
            }
            pos++;
        }
        if (pos == keyStart) {
            throw MALFORMED;
        }
        json.append('"');
        appendEscaped(json, s.subSequence(keyStart, pos));
        json.append("\":");
        pos++; // ':'
        ws();
        value();
    }

    private void array() {
        expect('[');
        ws();
        json.append('[');
        if (peek() == ']') {
            pos++;
            json.append(']');
            return;
        }
        value();
        while (true) {
            if (peek() == ',') {
                pos++;
                ws();
                json.append(',');
                value();
                continue;
            }
            ws();
            expect(']');
            json.append(']');
            return;
        }
    }

    private void value() {
        char c = peek();
        switch (c) {
            case '<' -> string();
            case '{' -> dict();
            case '[' -> array();
            case 't' -> literal("true");
            case 'f' -> literal("false");
            case 'n' -> literal("null");
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    number();
                } else {
                    throw MALFORMED;
                }
            }
        }
    }

    private void literal(String lit) {
        expectLiteral(lit);
        json.append(lit);
    }

    private void string() {
        expectLiteral(QUOTE);
        int start = pos;
        int end = indexOf(QUOTE, start);
        if (end < 0) {
            throw INCOMPLETE;
        }
        json.append('"');
        appendEscaped(json, s.subSequence(start, end));
        json.append('"');
        pos = end + QUOTE.length();
    }

    private int indexOf(String needle, int from) {
        outer:
        for (int i = from; i + needle.length() <= s.length(); i++) {
            for (int k = 0; k < needle.length(); k++) {
                if (s.charAt(i + k) != needle.charAt(k)) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void number() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else {
            digits();
        }
        if (pos < s.length() && s.charAt(pos) == '.') {
            pos++;
            digits();
        }
        if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            pos++;
            char c = peek();
            if (c == '+' || c == '-') {
                pos++;
            }
            digits();
        }
        if (pos >= s.length()) {
            throw INCOMPLETE; // the number may go on
        }
        json.append(s, start, pos);
    }

    private void digits() {
        if (!isDigit(peek())) {
            throw MALFORMED;
        }
        while (pos < s.length() && isDigit(s.charAt(pos))) {
            pos++;
        }
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** JSON string escaping as nlohmann::json dumps it (non-ASCII kept as is). */
    static void appendEscaped(StringBuilder out, CharSequence text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
    }
}
