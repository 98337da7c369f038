package dev.gemma4j.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated tokens into text as they arrive. Byte tokens can split one character over several tokens,
 * so the bytes of an unfinished character are held back until the rest arrives; {@link #flush()} releases
 * whatever is left (an unfinished character then decodes to U+FFFD). No byte is ever dropped or emitted
 * twice: the output is cut only between complete characters, so the concatenation of all returned strings
 * equals {@link Gemma4Tokenizer#decode} of all tokens (ill-formed bytes become U+FFFD either way).
 * Not thread-safe; one decoder per generation stream.
 */
public final class StreamingDecoder {
    private final Gemma4Tokenizer tokenizer;
    private final boolean renderSpecial;
    private final ByteArrayOutputStream piece = new ByteArrayOutputStream();
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamingDecoder(Gemma4Tokenizer tokenizer, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
    }

    /** Adds one token; returns the text that is complete now (possibly empty). */
    public String accept(int tokenId) {
        piece.reset();
        tokenizer.appendPiece(tokenId, renderSpecial, piece);
        int n = piece.size();
        if (pendingLength + n > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + n));
        }
        System.arraycopy(piece.toByteArray(), 0, pending, pendingLength, n);
        pendingLength += n;
        int complete = LenientUtf8.completePrefix(pending, pendingLength);
        return take(complete);
    }

    /** Releases every held byte; call at the end of the stream. */
    public String flush() {
        return take(pendingLength);
    }

    /** Whether bytes of an unfinished character are being held back. */
    public boolean hasPending() {
        return pendingLength > 0;
    }

    private String take(int count) {
        if (count == 0) {
            return "";
        }
        String s = new String(pending, 0, count, StandardCharsets.UTF_8);
        System.arraycopy(pending, count, pending, 0, pendingLength - count);
        pendingLength -= count;
        return s;
    }
}
