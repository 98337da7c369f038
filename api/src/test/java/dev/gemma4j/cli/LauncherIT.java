package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./gemma} launcher as users run it (after {@code package}, so the jar exists): exit codes pass
 * through its stderr filter unchanged, errors stay one line, and the JVM's incubator notice is filtered out.
 */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("..", "gemma").toAbsolutePath().normalize();

    record Result(int code, String out, String err) {
    }

    private static Result run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("gemma-out", ".txt");
        Path err = Files.createTempFile("gemma-err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "launcher did not finish");
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void helpSucceedsWithoutTheIncubatorNotice() throws Exception {
        Result r = run("--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("synth"), r.out());
        assertEquals("", r.err());
    }

    @Test
    void successWithNothingOnStderrKeepsExitZero(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny.gguf");
        Result r = run("synth", "--preset", "tiny", "--out", model.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(model) > 0);
    }

    @Test
    void badInputIsExitTwoWithOneLine(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.gguf");
        Files.writeString(bad, "not a gguf file");
        Result r = run("inspect", bad.toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("bad magic"), r.err());
    }
}
