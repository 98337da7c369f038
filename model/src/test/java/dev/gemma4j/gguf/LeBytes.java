package dev.gemma4j.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds GGUF bytes by hand, little-endian, independent of {@link GgufWriter} (for v2 and malformed files). */
final class LeBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    LeBytes u8(int v) {
        out.write(v);
        return this;
    }

    LeBytes u32(long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)));
        }
        return this;
    }

    LeBytes u64(long v) {
        for (int i = 0; i < 8; i++) {
            out.write((int) (v >>> (8 * i)));
        }
        return this;
    }

    LeBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        out.writeBytes(b);
        return this;
    }

    LeBytes bytes(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    LeBytes magic() {
        return bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
    }

    /** Zero bytes up to the next multiple of {@code alignment}. */
    LeBytes pad(int alignment) {
        while (out.size() % alignment != 0) {
            out.write(0);
        }
        return this;
    }

    /** A tensor info: name, dims, ggml type id, data offset. */
    LeBytes tensor(String name, long[] shape, int type, long offset) {
        str(name);
        u32(shape.length);
        for (long d : shape) {
            u64(d);
        }
        u32(type);
        return u64(offset);
    }

    int size() {
        return out.size();
    }

    byte[] toArray() {
        return out.toByteArray();
    }
}
