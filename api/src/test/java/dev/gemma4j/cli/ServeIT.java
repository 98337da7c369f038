package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./gemma serve} through the launcher, as an operator runs it: it logs one line with the address,
 * serves, and on SIGTERM to the launcher's process finishes the request in flight, frees the port and exits 0.
 */
class ServeIT {
    private static final Path LAUNCHER = Path.of("..", "gemma").toAbsolutePath().normalize();

    @Test
    void sigtermToTheLauncherDrainsFreesThePortAndExitsZero(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny.gguf");
        Process synth = new ProcessBuilder(LAUNCHER.toString(), "synth", "--preset", "tiny", "--out", model.toString())
            .redirectErrorStream(true).redirectOutput(dir.resolve("synth.txt").toFile()).start();
        assertTrue(synth.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, synth.exitValue());

        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(LAUNCHER.toString(), "serve", "--model", model.toString(), "--port", "0", "-t", "1",
            "--ctx", "512", "--shutdown-grace", "30")
            .redirectOutput(dir.resolve("out.txt").toFile()).redirectError(err.toFile()).start();
        try {
            Pattern ready = Pattern.compile("listening on (http://\\S+), model tiny\\.gguf, backend cpu, 4 slots");
            Matcher m = null;
            for (int i = 0; i < 1200 && p.isAlive(); i++) {
                m = ready.matcher(Files.readString(err, StandardCharsets.UTF_8));
                if (m.find()) {
                    break;
                }
                m = null;
                Thread.sleep(100);
            }
            assertTrue(m != null, "no startup line: " + Files.readString(err, StandardCharsets.UTF_8));
            URI base = URI.create(m.group(1));
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<String> health = client.send(HttpRequest.newBuilder(base.resolve("/health")).build(),
                HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode());

            // a request in flight when SIGTERM arrives still gets its whole answer
            String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":300,\"temperature\":0}";
            CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
            for (int i = 0; i < 600; i++) {
                String metrics = client.send(HttpRequest.newBuilder(base.resolve("/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
                if (metrics.contains("gemma_active_slots 1.0") || inFlight.isDone()) {
                    break;
                }
                Thread.sleep(10);
            }
            p.toHandle().destroy(); // SIGTERM to the launcher's shell
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher did not exit after SIGTERM");
            assertEquals(0, p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
            HttpResponse<String> done = inFlight.get(10, TimeUnit.SECONDS);
            assertEquals(200, done.statusCode(), done.body());
            assertTrue(done.body().contains("\"finish_reason\""), done.body());
            String log = Files.readString(err, StandardCharsets.UTF_8);
            assertTrue(log.contains("gemma serve: stopped"), log);
            assertTrue(!log.contains("WARNING: Using incubator modules"), log);
            assertThrows(ConnectException.class, () -> client.send(HttpRequest.newBuilder(base.resolve("/health")).build(),
                HttpResponse.BodyHandlers.ofString()), "the port is free");
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }
}
