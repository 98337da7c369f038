package dev.gemma4j.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One fixture written by tools/fixtures/make_format_fixtures.py from llama.cpp's ggml library: random
 * valid blocks with llama.cpp's dequantization, and (for the formats we write) an input row with the
 * bytes of llama.cpp's reference quantizer and their dequantization.
 */
record FormatFixture(GgmlType type, int randomElements, byte[] randomBytes, float[] randomDequantized,
        float[] quantInput, byte[] quantBytes, float[] quantDequantized) {

    boolean hasQuantization() {
        return quantInput.length > 0;
    }

    static FormatFixture load(GgmlType type) {
        String resource = "/formats/" + type.name() + ".bin";
        try (InputStream in = FormatFixture.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[4];
            b.get(magic);
            if (!new String(magic, java.nio.charset.StandardCharsets.US_ASCII).equals("G4JF") || b.getInt() != 1) {
                throw new IllegalStateException(resource + ": not a version-1 format fixture");
            }
            int id = b.getInt();
            if (id != type.id()) {
                throw new IllegalStateException(resource + ": type id " + id + ", expected " + type.id());
            }
            int n = b.getInt();
            byte[] raw = bytes(b, b.getInt());
            float[] deq = floats(b, n);
            int nq = b.getInt();
            if (nq == 0) {
                return new FormatFixture(type, n, raw, deq, new float[0], new byte[0], new float[0]);
            }
            float[] input = floats(b, nq);
            byte[] q = bytes(b, b.getInt());
            float[] qdeq = floats(b, nq);
            if (b.hasRemaining()) {
                throw new IllegalStateException(resource + ": trailing bytes");
            }
            return new FormatFixture(type, n, raw, deq, input, q, qdeq);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] a = new byte[n];
        b.get(a);
        return a;
    }

    private static float[] floats(ByteBuffer b, int n) {
        float[] a = new float[n];
        b.asFloatBuffer().get(a);
        b.position(b.position() + 4 * n);
        return a;
    }
}
