package dev.gemma4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Progress output on a clock the test moves. */
class ProgressTest {
    private long now;

    @Test
    void plainLinesComeAtMostEveryIntervalWithBytesRateAndEta() {
        StringWriter s = new StringWriter();
        Progress p = new Progress(new PrintWriter(s), false, Duration.ofSeconds(5), () -> now);
        now = 0;
        p.start("m-Q4_K_M.gguf", 100L << 20, 0);
        for (int sec = 1; sec <= 10; sec++) {
            now = sec * 1_000_000_000L;
            p.update(sec * (10L << 20)); // 10 MiB/s
        }
        p.finish(100L << 20);
        List<String> lines = s.toString().lines().toList();
        assertEquals(List.of(
            "pull m-Q4_K_M.gguf: 0 B / 100.0 MiB   0%, 0 B/s, ETA --",
            "pull m-Q4_K_M.gguf: 50.0 MiB / 100.0 MiB  50%, 10.0 MiB/s, ETA 0:05",
            "pull m-Q4_K_M.gguf: 100.0 MiB / 100.0 MiB 100%, 10.0 MiB/s, done"), lines);
    }

    @Test
    void aResumedTransferCountsOnlyNewBytesInTheRate() {
        StringWriter s = new StringWriter();
        Progress p = new Progress(new PrintWriter(s), false, Duration.ofSeconds(1), () -> now);
        now = 0;
        p.start("f.gguf", 3L << 30, 2L << 30);
        now = 2_000_000_000L;
        p.update((2L << 30) + (200L << 20));
        assertTrue(s.toString().lines().toList().get(1).endsWith("2.2 GiB / 3.0 GiB  73%, 100.0 MiB/s, ETA 0:09"), s.toString());
    }

    @Test
    void aTerminalGetsOneBarRedrawnInPlace() {
        StringWriter s = new StringWriter();
        Progress p = new Progress(new PrintWriter(s), true, Duration.ofSeconds(5), () -> now);
        now = 0;
        p.start("f.gguf", 1000, 0);
        now = 500_000_000L;
        p.update(500);
        p.note("a line of its own");
        now = 1_000_000_000L;
        p.finish(1000);
        String out = s.toString();
        assertTrue(out.startsWith("\rf.gguf [------------------------] 0 B / 1000 B   0%, 0 B/s, ETA --"), out);
        assertTrue(out.contains("\rf.gguf [############------------] 500 B / 1000 B  50%, 1000 B/s, ETA 0:01"), out);
        assertTrue(out.contains("\ra line of its own" + System.lineSeparator()), out);
        assertTrue(out.endsWith("[########################] 1000 B / 1000 B 100%, 1000 B/s, done" + System.lineSeparator()), out);
        assertEquals(2, out.split(System.lineSeparator(), -1).length - 1, "one line for the note, one for the finished bar: " + out);
    }
}
