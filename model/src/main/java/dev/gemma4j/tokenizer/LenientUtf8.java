package dev.gemma4j.tokenizer;

import java.io.ByteArrayOutputStream;

/**
 * UTF-8 as llama.cpp's tokenizer reads and writes it. Decoding checks only the lead byte and that enough
 * continuation bytes follow: overlong forms and surrogate code points pass, and every byte that does not
 * start a well-formed sequence becomes U+FFFD on its own (decoding resumes at the next byte).
 */
final class LenientUtf8 {
    static final int REPLACEMENT = 0xFFFD;
    /** Largest value a 4-byte sequence can carry; code points above U+10FFFF cannot be re-encoded. */
    static final int MAX_ENCODABLE = 0x10FFFF;

    private LenientUtf8() {
    }

    /** Decodes {@code b[from, to)} into code points; returns the number written to {@code out}. */
    static int decode(byte[] b, int from, int to, int[] out) {
        int n = 0;
        int i = from;
        while (i < to) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                out[n++] = b0;
                i++;
                continue;
            }
            int len;
            int cp;
            if ((b0 & 0x40) == 0) {
                len = 0;
                cp = 0;
            } else if ((b0 & 0x20) == 0) {
                len = 2;
                cp = b0 & 0x1F;
            } else if ((b0 & 0x10) == 0) {
                len = 3;
                cp = b0 & 0x0F;
            } else if ((b0 & 0x08) == 0) {
                len = 4;
                cp = b0 & 0x07;
            } else {
                len = 0;
                cp = 0;
            }
            boolean ok = len > 0 && i + len - 1 < to;
            for (int k = 1; ok && k < len; k++) {
                int c = b[i + k] & 0xFF;
                if ((c & 0xC0) != 0x80) {
                    ok = false;
                } else {
                    cp = (cp << 6) | (c & 0x3F);
                }
            }
            if (ok) {
                out[n++] = cp;
                i += len;
            } else {
                out[n++] = REPLACEMENT;
                i++;
            }
        }
        return n;
    }

    /** Appends the UTF-8 form of one code point (surrogates included); beyond U+10FFFF writes U+FFFD. */
    static void encode(int cp, ByteArrayOutputStream out) {
        if (cp < 0 || cp > MAX_ENCODABLE) {
            cp = REPLACEMENT;
        }
        if (cp < 0x80) {
            out.write(cp);
        } else if (cp < 0x800) {
            out.write(0xC0 | (cp >> 6));
            out.write(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out.write(0xE0 | (cp >> 12));
            out.write(0x80 | ((cp >> 6) & 0x3F));
            out.write(0x80 | (cp & 0x3F));
        } else {
            out.write(0xF0 | (cp >> 18));
            out.write(0x80 | ((cp >> 12) & 0x3F));
            out.write(0x80 | ((cp >> 6) & 0x3F));
            out.write(0x80 | (cp & 0x3F));
        }
    }

    /**
     * Length of the complete UTF-8 sequences at the start of {@code b[0, n)}: everything except a trailing
     * lead byte whose continuation bytes have not all arrived yet.
     */
    static int completePrefix(byte[] b, int n) {
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for its lead byte
            }
            int need = c >= 0xF0 && c <= 0xF7 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC0 && c <= 0xDF ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
