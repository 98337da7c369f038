package dev.gemma4j.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * Where a forward pass spends its time, for measurement only: with {@code -Dgemma4j.profile=true} the engine
 * adds the calling thread's CPU time and the wall time of each part of a step (weight products by tensor
 * kind, attention, the LM head, ...) here. With one engine thread the CPU time is the whole cost of a part;
 * with more, the caller's CPU time is its own share and wall minus CPU is mostly waiting for workers.
 * Off (the default) it costs one static-final test per region. Not thread-safe: one engine at a time.
 */
public final class StepProfile {
    /** True when {@code -Dgemma4j.profile=true}. */
    public static final boolean ENABLED = Boolean.getBoolean("gemma4j.profile");

    /** The parts of a step. */
    public enum Part {
        ATTN_QKV("attn q/k/v"), ATTN_OUT("attn output"), QK_NORM_ROPE("q/k norm, rope, kv store"),
        ATTENTION("attention (scores, softmax, V)"), DENSE_GATE_UP("dense ffn gate/up"), DENSE_DOWN("dense ffn down"),
        ROUTER("router"), EXPERT_GATE_UP("experts gate/up"), EXPERT_DOWN("experts down"), LM_HEAD("LM head"),
        OTHER_MATMUL("other weights");

        final String label;

        Part(String label) {
            this.label = label;
        }
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final long[] CPU = new long[Part.values().length];
    private static final long[] WALL = new long[Part.values().length];
    private static final long[] BYTES = new long[Part.values().length];
    private static long cpu0;
    private static long wall0;

    private StepProfile() {
    }

    static void start() {
        cpu0 = THREADS.getCurrentThreadCpuTime();
        wall0 = System.nanoTime();
    }

    static void stop(Part p, long weightBytes) {
        CPU[p.ordinal()] += THREADS.getCurrentThreadCpuTime() - cpu0;
        WALL[p.ordinal()] += System.nanoTime() - wall0;
        BYTES[p.ordinal()] += weightBytes;
    }

    /** The part a weight product belongs to, from its tensor's GGUF name. */
    static Part partOf(String tensor) {
        if (tensor.startsWith("token_embd") || tensor.startsWith("output")) {
            return Part.LM_HEAD;
        }
        if (tensor.contains("attn_q") || tensor.contains("attn_k") || tensor.contains("attn_v")) {
            return Part.ATTN_QKV;
        }
        if (tensor.contains("attn_output")) {
            return Part.ATTN_OUT;
        }
        if (tensor.contains("ffn_gate_inp")) {
            return Part.ROUTER;
        }
        if (tensor.contains("_exps")) {
            return tensor.contains("down") ? Part.EXPERT_DOWN : Part.EXPERT_GATE_UP;
        }
        if (tensor.contains("ffn_down")) {
            return Part.DENSE_DOWN;
        }
        if (tensor.contains("ffn_gate") || tensor.contains("ffn_up")) {
            return Part.DENSE_GATE_UP;
        }
        return Part.OTHER_MATMUL;
    }

    /** Clears the counters. */
    public static void reset() {
        java.util.Arrays.fill(CPU, 0);
        java.util.Arrays.fill(WALL, 0);
        java.util.Arrays.fill(BYTES, 0);
    }

    /**
     * A table of the parts per step: CPU ms, wall ms, weight MB and GB/s per CPU-second, and the rest of
     * {@code totalCpuNanos} (norms, activations, router softmax, sampling-free glue) as "other".
     */
    public static String report(int steps, long totalCpuNanos, long totalWallNanos) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-32s %9s %9s %9s %8s%n", "part (per step)", "CPU ms", "wall ms", "weight MB", "GB/s"));
        long cpu = 0;
        long wall = 0;
        long bytes = 0;
        for (Part p : Part.values()) {
            int i = p.ordinal();
            if (WALL[i] == 0) {
                continue;
            }
            cpu += CPU[i];
            wall += WALL[i];
            bytes += BYTES[i];
            b.append(line(p.label, CPU[i], WALL[i], BYTES[i], steps));
        }
        b.append(line("other (norms, glue, soft-cap)", totalCpuNanos - cpu, totalWallNanos - wall, 0, steps));
        b.append(line("total", totalCpuNanos, totalWallNanos, bytes, steps));
        return b.toString();
    }

    private static String line(String label, long cpu, long wall, long bytes, int steps) {
        return String.format(Locale.ROOT, "%-32s %9.1f %9.1f %9.1f %8s%n", label, cpu / 1e6 / steps, wall / 1e6 / steps,
                bytes / 1e6 / steps, bytes == 0 || cpu <= 0 ? "" : String.format(Locale.ROOT, "%.2f", bytes / (double) cpu));
    }
}
