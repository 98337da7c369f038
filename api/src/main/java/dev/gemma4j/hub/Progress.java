package dev.gemma4j.hub;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * What a pull tells the person while it runs: a bar redrawn in place on a terminal (bytes, percentage,
 * rate, ETA), and plain lines at most every {@code every} otherwise (a log or a pipe gets a readable
 * record instead of carriage returns). Not thread-safe: one per pull.
 */
public final class Progress {
    private static final long TERMINAL_REDRAW_NANOS = 100_000_000L;
    private static final int BAR = 24;

    private final PrintWriter out;
    private final boolean terminal;
    private final long everyNanos;
    private final LongSupplier nanoTime;

    private String file;
    private long total;
    private long startBytes;
    private long startNanos;
    private long lastNanos;
    private int lastWidth;

    public Progress(PrintWriter out, boolean terminal, Duration every, LongSupplier nanoTime) {
        this.out = out;
        this.terminal = terminal;
        this.everyNanos = every.toNanos();
        this.nanoTime = nanoTime;
    }

    /** A progress that prints nothing (for callers that only want the result). */
    public static Progress silent() {
        return new Progress(new PrintWriter(java.io.Writer.nullWriter()), false, Duration.ofDays(1), System::nanoTime);
    }

    /** A line of its own (waiting for a lock, resuming, retrying, verified). */
    public void note(String line) {
        clearBar();
        out.println(line);
        out.flush();
    }

    /** A transfer of {@code file} starts with {@code already} of {@code total} bytes on disk. */
    public void start(String file, long total, long already) {
        this.file = file;
        this.total = total;
        this.startBytes = already;
        this.startNanos = nanoTime.getAsLong();
        this.lastNanos = startNanos;
        if (terminal) {
            draw(already, startNanos);
        } else {
            out.println(line(already, startNanos));
            out.flush();
        }
    }

    /** {@code done} bytes of the file are on disk now. */
    public void update(long done) {
        long now = nanoTime.getAsLong();
        if (terminal) {
            if (now - lastNanos >= TERMINAL_REDRAW_NANOS) {
                lastNanos = now;
                draw(done, now);
            }
        } else if (now - lastNanos >= everyNanos && done < total) { // the last line is finish's
            lastNanos = now;
            out.println(line(done, now));
            out.flush();
        }
    }

    /** The transfer ended with {@code done} bytes on disk (the final line of the file). */
    public void finish(long done) {
        long now = nanoTime.getAsLong();
        if (terminal) {
            draw(done, now);
            out.println();
            lastWidth = 0;
        } else {
            out.println(line(done, now));
        }
        out.flush();
    }

    private void draw(long done, long now) {
        int filled = total > 0 ? (int) Math.min(BAR, done * BAR / total) : BAR;
        String bar = "[" + "#".repeat(filled) + "-".repeat(BAR - filled) + "] ";
        String s = "\r" + file + " " + bar + stats(done, now);
        int width = s.length();
        out.print(s + " ".repeat(Math.max(0, lastWidth - width)));
        lastWidth = width;
        out.flush();
    }

    private void clearBar() {
        if (terminal && lastWidth > 0) {
            out.print("\r" + " ".repeat(lastWidth) + "\r");
            lastWidth = 0;
        }
    }

    String line(long done, long now) {
        return "pull " + file + ": " + stats(done, now);
    }

    private String stats(long done, long now) {
        double sec = (now - startNanos) / 1e9;
        long moved = done - startBytes;
        double rate = sec > 0 ? moved / sec : 0;
        String pct = total > 0 ? String.format(Locale.ROOT, "%3d%%", (int) (done * 100 / total)) : "100%";
        String eta = done >= total ? "done" : rate > 0 ? "ETA " + duration((total - done) / rate) : "ETA --";
        return bytes(done) + " / " + bytes(total) + " " + pct + ", " + bytes((long) rate) + "/s, " + eta;
    }

    /** {@code 1536} as {@code 1.5 KiB}. */
    public static String bytes(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static String duration(double seconds) {
        long s = (long) Math.ceil(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
