package dev.gemma4j.bench;

import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Weight bytes streamed per second by {@link TensorFormat#dot} (or {@link TensorFormat#dotPrepared} where the
 * format prepares its activations, as the engine then does) on one thread: a matrix-vector product over
 * rows of 2816 elements (Gemma 4's hidden size) filling 64 MB of off-heap memory, larger than the caches,
 * as in CPU decoding where every weight is read once per token.
 *
 * <p>Run (short on purpose: the machine is shared; about 2 minutes):
 * <pre>
 * export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
 * ./mvnw -B -q -pl model test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:exec \
 *   -Dexec.executable=$JAVA_HOME/bin/java -Dexec.classpathScope=test \
 *   -Dexec.args="--add-modules jdk.incubator.vector -cp %classpath dev.gemma4j.bench.DotBenchmark"
 * </pre>
 * Arguments after the class name select formats (e.g. {@code Q4_K Q8_0}); the default is all of them. A
 * trailing {@code -} ({@code Q4_K-}) measures the plain {@code dot} of a format that prepares activations.
 * With {@code --cpu-time} first, the same pass runs without JMH, 20 times per format in this JVM, and the
 * best pass is timed by the thread's CPU time instead of the wall clock: on a machine shared with other
 * jobs this measures the kernel rather than the scheduler (it does not remove cache and SMT contention).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Threads(1)
public class DotBenchmark {
    static final int ROW = 2816;
    static final long WORKING_SET = Long.getLong("dot.mb", 64) << 20;

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "MXFP4", "Q2_K", "Q3_K", "Q4_K",
        "Q5_K", "Q6_K", "IQ4_XS"})
    public String format;

    private Arena arena;
    private MemorySegment weights;
    private TensorFormat f;
    private long rowBytes;
    private int rows;
    private float[] x;
    /** x in the format's prepared form when it has one (as MatMul uses it for one activation row), else null. */
    private float[] prepared;

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType type = GgmlType.valueOf(format.replace("-", ""));
        f = TensorFormat.of(type);
        rowBytes = f.rowBytes(ROW);
        rows = (int) (WORKING_SET / rowBytes);
        arena = Arena.ofShared();
        if (Boolean.getBoolean("dot.mapped")) {
            // a memory-mapped file, as the engine reads weights (-Ddot.mapped=true)
            try {
                java.nio.file.Path tmp = java.nio.file.Files.createTempFile("dot", ".bin");
                tmp.toFile().deleteOnExit();
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp,
                        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
                    weights = ch.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, rowBytes * rows, arena);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        } else {
            weights = arena.allocate(rowBytes * rows, 64);
        }
        Random rnd = new Random(42);
        x = new float[ROW];
        for (int i = 0; i < ROW; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        // Real quantizations where we can write the format; otherwise random bytes with sane f16 scales
        // (the kernels' speed does not depend on the values).
        float[] w = new float[ROW];
        MemorySegment one = arena.allocate(rowBytes);
        if (f.canQuantize()) {
            for (int i = 0; i < ROW; i++) {
                w[i] = (float) (rnd.nextGaussian() * 0.02);
            }
            f.quantize(w, 0, ROW, one, 0);
        } else {
            byte[] b = new byte[(int) rowBytes];
            rnd.nextBytes(b);
            MemorySegment.copy(b, 0, one, ValueLayout.JAVA_BYTE, 0, b.length);
            int bb = type.blockBytes();
            for (long off = 0; off + bb <= rowBytes; off += bb) {
                for (int k = 0; k < bb; k += 2) { // keep every 16-bit field finite: clear exponent-high bits
                    byte hi = one.get(ValueLayout.JAVA_BYTE, off + k + 1);
                    one.set(ValueLayout.JAVA_BYTE, off + k + 1, (byte) (hi & 0x9F));
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(one, 0, weights, r * rowBytes, rowBytes);
        }
        int ps = f.preparedSize(ROW);
        if (ps > 0 && !format.endsWith("-")) {
            prepared = new float[ps];
            f.prepare(x, 0, ROW, prepared, 0);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** One pass over the whole working set: {@code rows} dot products of {@code ROW} elements. */
    @Benchmark
    public float matVec() {
        float s = 0;
        if (prepared != null) {
            for (int r = 0; r < rows; r++) {
                s += f.dotPrepared(weights, r * rowBytes, prepared, 0, ROW);
            }
            return s;
        }
        for (int r = 0; r < rows; r++) {
            s += f.dot(weights, r * rowBytes, x, 0, ROW);
        }
        return s;
    }

    public static void main(String[] args) throws RunnerException {
        if (args.length > 0 && args[0].equals("--cpu-time")) {
            cpuTime(java.util.Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        OptionsBuilder b = new OptionsBuilder();
        b.include(DotBenchmark.class.getSimpleName());
        if (args.length > 0) {
            b.param("format", args);
        }
        Options opt = b.build();
        Collection<RunResult> results = new Runner(opt).run();
        List<String> lines = new ArrayList<>();
        lines.add(String.format("%-7s %10s %9s %8s", "format", "bytes/row", "ms/pass", "GB/s"));
        for (RunResult r : results) {
            String fmt = r.getParams().getParam("format");
            long rowBytes = TensorFormat.of(GgmlType.valueOf(fmt.replace("-", ""))).rowBytes(ROW);
            long bytes = WORKING_SET / rowBytes * rowBytes;
            double ms = r.getPrimaryResult().getScore();
            lines.add(String.format("%-7s %10d %9.2f %8.2f", fmt, rowBytes, ms, bytes / (ms * 1e-3) / 1e9));
        }
        System.out.println();
        System.out.println("Weight bytes streamed by TensorFormat.dot, one thread, rows of " + ROW + ", "
                + (WORKING_SET >> 20) + " MB working set:");
        lines.forEach(System.out::println);
    }

    private static void cpuTime(String[] formats) {
        if (formats.length == 0) {
            formats = new String[] {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "MXFP4", "Q2_K",
                "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"};
        }
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        System.out.println("Weight bytes streamed by TensorFormat.dot per CPU-second, one thread, rows of " + ROW + ", "
                + (WORKING_SET >> 20) + " MB working set, best of 20 passes:");
        System.out.println(String.format("%-7s %10s %9s %8s", "format", "bytes/row", "ms/pass", "GB/s"));
        for (String fmt : formats) {
            DotBenchmark bench = new DotBenchmark();
            bench.format = fmt;
            bench.setUp();
            long best = Long.MAX_VALUE;
            float sink = 0;
            for (int pass = 0; pass < 20; pass++) {
                long t0 = threads.getCurrentThreadCpuTime();
                sink += bench.matVec();
                best = Math.min(best, threads.getCurrentThreadCpuTime() - t0);
            }
            long bytes = bench.rows * bench.rowBytes;
            System.out.println(String.format("%-7s %10d %9.2f %8.2f%s", fmt, bench.rowBytes, best / 1e6, bytes / (double) best,
                    Float.isNaN(sink) ? " (NaN)" : ""));
            bench.tearDown();
        }
    }
}
