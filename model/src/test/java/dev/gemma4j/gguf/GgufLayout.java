package dev.gemma4j.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test access to where a single-file GGUF's tensor data starts, for tests that corrupt tensor bytes in place. */
public final class GgufLayout {
    private GgufLayout() {
    }

    /** File offset of the data area (tensor offsets count from here). */
    public static long dataStart(Path file) throws IOException {
        return GgufReader.readHeader(file, MemorySegment.ofArray(Files.readAllBytes(file))).dataStart();
    }
}
