package dev.gemma4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * How llama.cpp's template engine turns JSON values into text, for the few operations the Gemma 4 template
 * uses: truthiness, printing ({@code {{ v }}}), {@code | upper}, {@code | trim} and {@code | dictsort}.
 */
final class TemplateValues {

    private TemplateValues() {
    }

    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

    /** Jinja truthiness: null/missing, false, 0, "" and empty containers are false. */
    static boolean truthy(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return false;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isNumber()) {
            return isFloat(v) ? asDouble(v) != 0.0 : !integerValue(v).equals(BigInteger.ZERO);
        }
        if (v.isTextual()) {
            return !v.textValue().isEmpty();
        }
        return v.size() > 0;
    }

    /** The value printed by {@code {{ v }}}: strings raw, numbers as in llama.cpp, null as nothing. */
    static String str(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return "";
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isBoolean()) {
            return v.booleanValue() ? "True" : "False";
        }
        if (v.isNumber()) {
            return number(v);
        }
        // llama.cpp prints the items of an array one after the other; objects likewise are rare here
        StringBuilder sb = new StringBuilder();
        if (v.isArray()) {
            for (JsonNode item : v) {
                sb.append(str(item));
            }
        } else {
            sb.append(repr(v));
        }
        return sb.toString();
    }

    /** The value as a string for filters such as {@code upper}: containers as their Python-like repr. */
    static String asString(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "";
        }
        if (v.isNull()) {
            return "None";
        }
        if (v.isContainerNode()) {
            return repr(v);
        }
        return str(v);
    }

    private static String repr(JsonNode v) {
        if (v == null || v.isNull()) {
            return "None";
        }
        if (v.isTextual()) {
            return "'" + v.textValue() + "'";
        }
        if (v.isArray()) {
            List<String> items = new ArrayList<>();
            for (JsonNode item : v) {
                items.add(repr(item));
            }
            return "[" + String.join(", ", items) + "]";
        }
        if (v.isObject()) {
            List<String> items = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                items.add("'" + e.getKey() + "': " + repr(e.getValue()));
            }
            return "{" + String.join(", ", items) + "}";
        }
        return str(v);
    }

    /** {@code | upper}: ASCII letters only (llama.cpp uses C {@code toupper} byte by byte). */
    static String upper(JsonNode v) {
        String s = asString(v);
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(c >= 'a' && c <= 'z' ? (char) (c - 32) : c);
        }
        return sb.toString();
    }

    /** C {@code isspace} in the "C" locale: space, tab, newline, vertical tab, form feed, carriage return. */
    static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    /** {@code | trim}: removes C-isspace characters only (not U+00A0, U+3000, U+0085, ...). */
    static String trim(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && isCSpace(s.charAt(b))) {
            b++;
        }
        while (e > b && isCSpace(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(b, e);
    }

    /** Object entries sorted by key in code-point order, case-sensitive ({@code | dictsort}). */
    static List<Map.Entry<String, JsonNode>> dictsort(JsonNode obj) {
        List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
        obj.fields().forEachRemaining(entries::add);
        entries.sort(Map.Entry.comparingByKey(CODE_POINT_ORDER));
        return entries;
    }

    static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    };

    private static boolean isFloat(JsonNode v) {
        if (v.isFloatingPointNumber()) {
            return true;
        }
        // nlohmann::json stores integers beyond uint64 as doubles
        return v.isBigInteger() && (v.bigIntegerValue().signum() < 0
            ? v.bigIntegerValue().bitLength() > 63 : v.bigIntegerValue().bitLength() > 64);
    }

    private static double asDouble(JsonNode v) {
        return v.isBigInteger() ? v.bigIntegerValue().doubleValue() : v.doubleValue();
    }

    private static BigInteger integerValue(JsonNode v) {
        return v.bigIntegerValue();
    }

    /**
     * A JSON number as llama.cpp prints it: integers in decimal (values between 2^63 and 2^64 wrap to
     * negative, as nlohmann's uint64 becomes the engine's int64), floats like C {@code printf("%f")} with
     * trailing zeros removed but one digit kept after the point.
     */
    static String number(JsonNode v) {
        if (isFloat(v)) {
            return formatFloat(asDouble(v));
        }
        BigInteger i = integerValue(v);
        if (i.bitLength() > 63) {
            i = i.subtract(TWO_64);
        }
        return i.toString();
    }

    static String formatFloat(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        String s = new BigDecimal(d).setScale(6, RoundingMode.HALF_EVEN).abs().toPlainString();
        boolean negative = (Double.doubleToRawLongBits(d) & Long.MIN_VALUE) != 0;
        int end = s.length();
        while (s.charAt(end - 1) == '0') {
            end--;
        }
        if (s.charAt(end - 1) == '.') {
            end++;
        }
        return (negative ? "-" : "") + s.substring(0, end);
    }
}
