package dev.gemma4j.bench;

import dev.gemma4j.tokenizer.Gemma4TestVocabulary;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoding throughput of the Gemma 4 tokenizer on the full 262,144-token test vocabulary
 * ({@link Gemma4TestVocabulary}; needs tools/reference installed). The texts are files given by
 * {@code -p english=...} and {@code -p code=...}, repeated up to at least {@code minBytes}; the reported
 * {@code tokens} counter is tokens per second. Command: docs/benchmarks.md, "Tokenizer".
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@State(Scope.Benchmark)
public class TokenizerBenchmark {
    @Param("/work/shared/spec/gemma4.md")
    public String english;

    @Param("/work/ref/llama.cpp/src/llama-vocab.cpp")
    public String code;

    @Param("1000000")
    public int minBytes;

    private Gemma4Tokenizer tokenizer;
    private String englishText;
    private String codeText;

    /** Tokens produced, reported by JMH as a rate. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Tokens {
        public long tokens;

        @Setup(Level.Iteration)
        public void reset() {
            tokens = 0;
        }
    }

    @Setup(Level.Trial)
    public void load() throws Exception {
        tokenizer = Gemma4Tokenizer.fromMetadata(Gemma4TestVocabulary.metadata());
        englishText = repeated(english);
        codeText = repeated(code);
    }

    private String repeated(String file) throws Exception {
        String s = Files.readString(Path.of(file), StandardCharsets.UTF_8);
        StringBuilder b = new StringBuilder(s);
        while (b.length() < minBytes) {
            b.append('\n').append(s);
        }
        return b.toString();
    }

    @Benchmark
    public int[] encodeEnglish(Tokens t) {
        int[] ids = tokenizer.encode(englishText, true, true);
        t.tokens += ids.length;
        return ids;
    }

    @Benchmark
    public int[] encodeCode(Tokens t) {
        int[] ids = tokenizer.encode(codeText, true, true);
        t.tokens += ids.length;
        return ids;
    }
}
