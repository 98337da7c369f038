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
        return run(configHome, java.util.Map.of(), args);
    }

    private static Result run(Path configHome, java.util.Map<String, String> env, String... args) throws IOException, InterruptedException {
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
        pb.environment().remove("HF_TOKEN");
        pb.environment().putAll(env);
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

    @Test
    void pullListAndGenerateByNameReadTheHubAndCacheFromTheEnvironment(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m.gguf");
        dev.gemma4j.synth.SynthModel.write(dev.gemma4j.synth.SynthModel.plan(dev.gemma4j.synth.SynthConfig.preset("tiny"),
            dev.gemma4j.synth.SynthType.Q4_K_M, 3), model, 2);
        String commit = "c0ffee0000000000000000000000000000000001";
        try (dev.gemma4j.hub.TestHub hub = new dev.gemma4j.hub.TestHub()) {
            hub.repo("acme/tiny-GGUF", commit, java.util.Map.of("tiny-Q4_K_M.gguf", Files.readAllBytes(model)), false);
            Path home = dir.resolve("home");
            java.util.Map<String, String> env = java.util.Map.of("HF_ENDPOINT", hub.endpoint().toString(), "GEMMA_HOME", home.toString());
            Result pull = run(null, env, "pull", "acme/tiny-GGUF:Q4_K_M");
            System.out.println("./gemma pull acme/tiny-GGUF:Q4_K_M (stderr):\n" + pull.err());
            assertEquals(0, pull.code(), pull.err());
            Path file = home.resolve("models/acme/tiny-GGUF").resolve(commit).resolve("tiny-Q4_K_M.gguf");
            assertEquals(file.toString(), pull.out().strip());
            assertTrue(pull.err().startsWith("pull tiny-Q4_K_M.gguf: 0 B / "), pull.err());
            assertTrue(pull.err().contains("tiny-Q4_K_M.gguf: SHA-256 verified"), pull.err());

            Result list = run(null, env, "list");
            assertEquals(0, list.code(), list.err());
            assertTrue(list.out().contains("acme/tiny-GGUF:Q4_K_M"), list.out());

            Result gen = run(null, env, "generate", "--model", "acme/tiny-GGUF:Q4_K_M", "--prompt", "w1 w2", "-n", "3", "--json");
            assertEquals(0, gen.code(), gen.err());
            assertEquals("", gen.err());
            assertTrue(gen.out().contains("\"finish_reason\""), gen.out());
        }
    }

    @Test
    void twoPullProcessesOfOneFileShareItThroughTheFileLock(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m.gguf");
        dev.gemma4j.synth.SynthModel.write(dev.gemma4j.synth.SynthModel.plan(dev.gemma4j.synth.SynthConfig.preset("tiny"),
            dev.gemma4j.synth.SynthType.Q4_K_M, 4), model, 2);
        byte[] bytes = Files.readAllBytes(model);
        String commit = "c0ffee0000000000000000000000000000000002";
        try (dev.gemma4j.hub.TestHub hub = new dev.gemma4j.hub.TestHub()) {
            hub.repo("acme/tiny-GGUF", commit, java.util.Map.of("tiny-Q4_K_M.gguf", bytes), false);
            hub.slow(120); // a few seconds for the file, so the second process starts while the first downloads
            Path home = dir.resolve("home");
            Path part = home.resolve("models/acme/tiny-GGUF").resolve(commit).resolve("tiny-Q4_K_M.gguf.part");
            java.util.Map<String, String> env = java.util.Map.of("HF_ENDPOINT", hub.endpoint().toString(), "GEMMA_HOME", home.toString());
            java.util.concurrent.CompletableFuture<Result> first = java.util.concurrent.CompletableFuture.supplyAsync(() -> runUnchecked(env));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.exists(part) && System.nanoTime() < deadline && !first.isDone()) {
                Thread.sleep(20);
            }
            assertTrue(Files.exists(part), "the first pull started downloading");
            Result second = runUnchecked(env);
            Result one = first.get();
            assertEquals(0, one.code(), one.err());
            assertEquals(0, second.code(), second.err());
            assertEquals(one.out(), second.out());
            assertTrue(second.err().contains("waiting for another pull of tiny-Q4_K_M.gguf to finish"), second.err());
            assertTrue(second.err().contains("already in the cache"), second.err());
            assertEquals(bytes.length, hub.bytesServed(), "downloaded once");
            assertEquals(dev.gemma4j.hub.TestHub.sha256(bytes), dev.gemma4j.hub.TestHub.sha256(Files.readAllBytes(Path.of(one.out().strip()))));
        }
    }

    private static Result runUnchecked(java.util.Map<String, String> env) {
        try {
            return run(null, env, "pull", "acme/tiny-GGUF:Q4_K_M");
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
