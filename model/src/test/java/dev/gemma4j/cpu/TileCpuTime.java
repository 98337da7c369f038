package dev.gemma4j.cpu;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Weights;
import dev.gemma4j.model.Matrix;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Random;

/**
 * CPU time of {@link MatMul} on one thread for a real model's matrices with several activation-row counts
 * (the prefill and multi-session tile path): GFLOP/s and weight GB/s per CPU-second, best of the passes.
 * Arguments: model file, then optionally row counts (default 1 2 3 4 5 8 16 64 128); the fourth layer's
 * attention Q (dense weights), its first expert's gate/up and down, and the LM head.
 * <pre>
 * ./mvnw -B -q -pl model test-compile
 * java --add-modules jdk.incubator.vector -cp model/target/classes:model/target/test-classes \
 *   dev.gemma4j.cpu.TileCpuTime /work/models/quarter-q4km.gguf [batchInvariant] 1 4 16 128
 * </pre>
 */
public final class TileCpuTime {
    private TileCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean tm = ManagementFactory.getThreadMXBean();
        boolean invariant = args.length > 1 && args[1].equals("batchInvariant");
        int first = invariant ? 2 : 1;
        int[] counts = args.length > first ? new int[args.length - first] : new int[] {1, 2, 3, 4, 5, 8, 16, 64, 128};
        for (int i = first; i < args.length; i++) {
            counts[i - first] = Integer.parseInt(args[i]);
        }
        try (GgufFile gguf = GgufFile.open(Path.of(args[0]))) {
            Gemma4Config cfg = Gemma4Config.read(gguf);
            Gemma4Weights ws = Gemma4Weights.load(gguf, cfg);
            Gemma4Weights.Layer l = ws.layers()[Math.min(3, ws.layers().length - 1)];
            Matrix[] ms = {l.wq(), l.ffnDown(), l.expertGateUp() != null ? l.expertGateUp().expert(0) : l.expertGate().expert(0),
                l.expertDown().expert(0), ws.outputHead()};
            try (WorkerPool pool = new WorkerPool(1)) {
                int maxCols = 0;
                long maxOut = 0;
                int maxN = 0;
                for (int c : counts) {
                    maxN = Math.max(maxN, c);
                }
                for (Matrix m : ms) {
                    maxCols = Math.max(maxCols, m.cols());
                    maxOut = Math.max(maxOut, (long) m.rows() * maxN);
                }
                MatMul mm = new MatMul(pool, maxCols, 4, invariant);
                Random rnd = new Random(7);
                float[] x = new float[maxCols * maxN];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                float[] y = new float[(int) maxOut];
                for (Matrix m : ms) {
                    for (int n : counts) {
                        long best = Long.MAX_VALUE;
                        // repetitions per timed pass: weight bytes x activation rows about 3.2 GB (the LM head: one repetition)
                        int reps = (int) Math.max(1, 64L * 50_000_000 / ((long) n * m.byteSize()));
                        for (int pass = 0; pass < 6; pass++) {
                            long c0 = tm.getCurrentThreadCpuTime();
                            for (int k = 0; k < reps; k++) {
                                mm.add(m, x, 0, n, y, 0, m.rows()).run();
                            }
                            best = Math.min(best, (tm.getCurrentThreadCpuTime() - c0) / reps);
                        }
                        double flops = 2.0 * m.rows() * m.cols() * n;
                        System.out.printf("%-28s %-5s rows %3d: %8.3f ms  %6.2f GFLOP/s  %6.2f weight GB/s%n", m.name(),
                            m.format().type(), n, best / 1e6, flops / best, (double) m.byteSize() / best);
                    }
                }
            }
        }
    }
}
