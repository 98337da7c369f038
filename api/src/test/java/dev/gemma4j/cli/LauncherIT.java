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
        return run(null, args);
    }

    /** Runs the launcher; with {@code configHome}, as a user with no TornadoVM SDK registered there. */
    private static Result run(Path configHome, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("gemma-out", ".txt");
        Path err = Files.createTempFile("gemma-err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        if (configHome != null) {
            pb.environment().put("XDG_CONFIG_HOME", configHome.toString());
            pb.environment().remove("TORNADOVM_HOME");
        }
        Process p = pb.start();
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

    @Test
    void profilesSwitchTheBackendAndATornadoProfileWithoutAnSdkSaysWhatToRun(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny.gguf");
        assertEquals(0, run("synth", "--preset", "tiny", "--out", model.toString()).code());
        Result cpu = run("generate", "--model", model.toString(), "--profile", "cpu", "--prompt", "Hi", "-n", "2", "--json");
        assertEquals(0, cpu.code(), cpu.err());
        assertTrue(cpu.out().contains("\"ids\""), cpu.out());

        Result opencl = run(dir, "generate", "--model", model.toString(), "--profile=opencl", "--prompt", "Hi");
        assertEquals(2, opencl.code(), opencl.err());
        assertEquals(1, opencl.err().lines().count(), opencl.err());
        assertTrue(opencl.err().contains("./setup-tornado.sh opencl --sdk"), opencl.err());

        Result unknown = run("bench", "--model", model.toString(), "--profile", "nope");
        assertEquals(2, unknown.code(), unknown.err());
        assertTrue(unknown.err().contains("no profile 'nope'") && unknown.err().contains("cpu, opencl, ptx, spirv"), unknown.err());
    }
}
