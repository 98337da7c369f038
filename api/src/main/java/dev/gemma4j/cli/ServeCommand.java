package dev.gemma4j.cli;

import dev.gemma4j.cpu.CpuEngine;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.server.GemmaServer;
import dev.gemma4j.server.ModelHost;
import dev.gemma4j.server.ServerOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code gemma serve}: the OpenAI-compatible HTTP service. Starts the HTTP server first (so /health can say
 * "loading"), loads the model, then serves until SIGTERM or SIGINT, which drain and exit 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions,",
        "/v1/models, /health, /metrics, /tokenize, /detokenize) with continuous batching over --parallel slots,",
        "and a chat page for the browser at /.",
        "Every option can also be set with an environment variable GEMMA_<OPTION> (e.g. GEMMA_PORT, GEMMA_API_KEY)."})
final class ServeCommand implements Callable<Integer> {

    @Mixin
    EngineArgs engine;

    @Option(names = "--host", defaultValue = "${env:GEMMA_HOST:-127.0.0.1}", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "${env:GEMMA_PORT:-8080}", description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = {"-np", "--parallel"}, defaultValue = "${env:GEMMA_PARALLEL:-4}",
        description = "Slots: requests decoded together, each with its own context of --ctx-size tokens (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--queue", defaultValue = "${env:GEMMA_QUEUE:-64}", description = "Requests that may wait for a slot before 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--api-key", defaultValue = "${env:GEMMA_API_KEY}", description = "Require 'Authorization: Bearer KEY' (also GEMMA_API_KEY).")
    String apiKey;

    @Option(names = {"-a", "--alias"}, paramLabel = "NAME", description = "Another model name clients may use (repeatable).")
    List<String> aliases = new ArrayList<>();

    @Option(names = "--timeout", defaultValue = "${env:GEMMA_TIMEOUT:-600}", paramLabel = "SECONDS",
        description = "Most seconds a request may take; 0 = no limit (default: ${DEFAULT-VALUE}).")
    int timeout;

    @Option(names = "--prefill-budget", defaultValue = "${env:GEMMA_PREFILL_BUDGET:-128}", paramLabel = "N",
        description = "Prompt tokens evaluated per step next to the decoding streams (default: ${DEFAULT-VALUE}).")
    int prefillBudget;

    @Option(names = "--cors", paramLabel = "ORIGIN", description = "Allow cross-origin requests from ORIGIN ('*' for any; repeatable).")
    List<String> cors = new ArrayList<>();

    @Option(names = "--max-body", defaultValue = "${env:GEMMA_MAX_BODY:-10485760}", paramLabel = "BYTES",
        description = "Largest request body (default: ${DEFAULT-VALUE}); larger ones get 413.")
    long maxBody;

    @Option(names = "--shutdown-grace", defaultValue = "${env:GEMMA_SHUTDOWN_GRACE:-10}", paramLabel = "SECONDS",
        description = "On SIGTERM, how long running requests may finish before they are cancelled (default: ${DEFAULT-VALUE}).")
    int shutdownGrace;

    @Option(names = "--cache-prompt", negatable = true, defaultValue = "${env:GEMMA_CACHE_PROMPT:-true}", fallbackValue = "true",
        description = "Prompt cache: each slot keeps its tokens and a request reuses the longest cached prefix of its prompt "
            + "(a request can opt out with \"cache_prompt\": false; default: ${DEFAULT-VALUE}).")
    boolean cachePrompt;

    @Option(names = "--cache-ram", defaultValue = "${env:GEMMA_CACHE_RAM:-8192}", paramLabel = "MiB",
        description = "Host memory for prompt-cache checkpoints of the sliding-window state, all slots together; the least "
            + "recently used are evicted beyond it; 0 keeps none (default: ${DEFAULT-VALUE}).")
    long cacheRamMiB;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (cacheRamMiB < 0 || cacheRamMiB > (Long.MAX_VALUE >> 20)) {
            throw new BadInputException("--cache-ram must be a number of MiB, at least 0, got " + cacheRamMiB);
        }
        ServerOptions opts;
        try {
            opts = new ServerOptions(host, port, parallel, queue, apiKey, aliases,
                timeout > 0 ? Duration.ofSeconds(timeout) : null, prefillBudget, maxBody, cors,
                Duration.ofSeconds(Math.max(0, shutdownGrace)), cachePrompt, cacheRamMiB << 20);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        CountDownLatch stop = new CountDownLatch(1);
        // SIGTERM/SIGINT end serving normally (drain, close the port, exit 0) instead of killing the JVM
        for (String sig : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(sig), s -> stop.countDown());
        }
        Path modelFile = engine.modelPath();
        GgufFile gguf = GgufFile.open(modelFile);
        boolean loaded = false;
        try (GemmaServer server = GemmaServer.start(opts)) {
            err.printf("gemma serve: loading %s (listening on %s, /health says loading) ...%n", modelFile, server.uri());
            err.flush();
            long t0 = System.nanoTime();
            server.load(() -> openModel(gguf, opts));
            loaded = true;
            ModelHost m = server.state().model();
            EngineOptions eo = m.engine().options();
            String kv = m.engine() instanceof CpuEngine c
                ? String.format(Locale.ROOT, ", KV cache %.1f MiB for %d slots", c.sessionCacheBytes() * (double) opts.parallel() / (1 << 20), opts.parallel())
                : "";
            String pc = opts.cachePrompt() ? String.format(Locale.ROOT, ", prompt cache on (%d MiB for checkpoints)", opts.cacheRamBytes() >> 20)
                : ", prompt cache off";
            err.printf(Locale.ROOT, "gemma serve: listening on %s, model %s, backend %s, %d slots x %d tokens%s%s, %d threads (loaded in %.1f s); chat page %s/%n",
                server.uri(), m.id(), m.backend(), opts.parallel(), eo.contextLength(), kv, pc, eo.threads(), (System.nanoTime() - t0) / 1e9,
                server.uri());
            err.flush();
            stop.await();
            err.println("gemma serve: stopping (draining requests) ...");
            err.flush();
        } finally {
            if (!loaded) {
                gguf.close();
            }
        }
        err.println("gemma serve: stopped");
        err.flush();
        return 0;
    }

    private ModelHost openModel(GgufFile gguf, ServerOptions opts) {
        Gemma4Config cfg = Gemma4Config.read(gguf);
        try {
            // batch-invariant kernels unless --no-batch-invariant: a greedy answer must not depend on its neighbours
            EngineOptions eo = engine.options(cfg, 0);
            if (engine.batchInvariant == null) {
                eo = eo.withBatchInvariant(true);
            }
            Engine e = engine.open(gguf, eo);
            try {
                return new ModelHost(gguf, e, opts.aliases(), engine.profile().name());
            } catch (RuntimeException ex) {
                e.close();
                throw ex;
            }
        } catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

}
