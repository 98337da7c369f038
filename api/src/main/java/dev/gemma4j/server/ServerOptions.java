package dev.gemma4j.server;

import java.time.Duration;
import java.util.List;

/**
 * How {@code gemma serve} runs; built from the command line (or a test) and handed to the server as values.
 *
 * @param host            address to bind (127.0.0.1 by default: not exposed unless asked)
 * @param port            TCP port (0 = any free port, for tests)
 * @param parallel        slots: sequences decoded together in one batched step
 * @param queueSize       requests waiting for a slot before new ones get 429
 * @param apiKey          required bearer token, or null for an open server
 * @param aliases         extra names the model answers to (besides its id)
 * @param requestTimeout  the most a request may take from arrival to its last token (null = no limit)
 * @param prefillBudget   prompt tokens evaluated per step next to the decoding rows
 * @param maxBodyBytes    largest request body accepted (413 beyond)
 * @param corsOrigins     allowed CORS origins (empty = CORS off; "*" = any)
 * @param shutdownGrace   how long SIGTERM waits for in-flight requests before cancelling them
 * @param cachePrompt     slots keep the tokens they evaluated and a request reuses the longest cached prefix
 *                        (llama-server's {@code cache_prompt}); off: every prompt is evaluated whole
 * @param cacheRamBytes   host memory for prompt-cache checkpoints (the sliding-window state at the end of
 *                        prompts), all slots together; the least recently used are evicted beyond it
 */
public record ServerOptions(String host, int port, int parallel, int queueSize, String apiKey, List<String> aliases,
                            Duration requestTimeout, int prefillBudget, long maxBodyBytes, List<String> corsOrigins,
                            Duration shutdownGrace, boolean cachePrompt, long cacheRamBytes) {

    /** llama-server's default {@code --cache-ram}: 8 GiB. */
    public static final long DEFAULT_CACHE_RAM = 8192L << 20;

    /** Options with the prompt cache on and the default budget. */
    public ServerOptions(String host, int port, int parallel, int queueSize, String apiKey, List<String> aliases,
                         Duration requestTimeout, int prefillBudget, long maxBodyBytes, List<String> corsOrigins,
                         Duration shutdownGrace) {
        this(host, port, parallel, queueSize, apiKey, aliases, requestTimeout, prefillBudget, maxBodyBytes, corsOrigins,
            shutdownGrace, true, DEFAULT_CACHE_RAM);
    }

    public ServerOptions {
        if (parallel < 1) {
            throw new IllegalArgumentException("--parallel must be at least 1, got " + parallel);
        }
        if (queueSize < 0) {
            throw new IllegalArgumentException("--queue must be at least 0, got " + queueSize);
        }
        if (prefillBudget < 1) {
            throw new IllegalArgumentException("the prefill budget must be at least 1, got " + prefillBudget);
        }
        if (cacheRamBytes < 0) {
            throw new IllegalArgumentException("--cache-ram must be at least 0, got " + cacheRamBytes);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be in 0..65535, got " + port);
        }
        aliases = List.copyOf(aliases);
        corsOrigins = List.copyOf(corsOrigins);
        if (apiKey != null && apiKey.isEmpty()) {
            apiKey = null;
        }
    }

    /** Defaults for tests: loopback, any free port, 4 slots. */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 0, 4, 64, null, List.of(), null, 128, 10L << 20, List.of(),
            Duration.ofSeconds(10));
    }

    public ServerOptions withParallel(int n) {
        return new ServerOptions(host, port, n, queueSize, apiKey, aliases, requestTimeout, prefillBudget, maxBodyBytes,
            corsOrigins, shutdownGrace, cachePrompt, cacheRamBytes);
    }

    public ServerOptions withQueueSize(int n) {
        return new ServerOptions(host, port, parallel, n, apiKey, aliases, requestTimeout, prefillBudget, maxBodyBytes,
            corsOrigins, shutdownGrace, cachePrompt, cacheRamBytes);
    }

    public ServerOptions withApiKey(String k) {
        return new ServerOptions(host, port, parallel, queueSize, k, aliases, requestTimeout, prefillBudget, maxBodyBytes,
            corsOrigins, shutdownGrace, cachePrompt, cacheRamBytes);
    }

    public ServerOptions withAliases(List<String> a) {
        return new ServerOptions(host, port, parallel, queueSize, apiKey, a, requestTimeout, prefillBudget, maxBodyBytes,
            corsOrigins, shutdownGrace, cachePrompt, cacheRamBytes);
    }

    public ServerOptions withRequestTimeout(Duration d) {
        return new ServerOptions(host, port, parallel, queueSize, apiKey, aliases, d, prefillBudget, maxBodyBytes,
            corsOrigins, shutdownGrace, cachePrompt, cacheRamBytes);
    }

    public ServerOptions withPrefillBudget(int n) {
        return new ServerOptions(host, port, parallel, queueSize, apiKey, aliases, requestTimeout, n, maxBodyBytes,
            corsOrigins, shutdownGrace, cachePrompt, cacheRamBytes);
    }

    public ServerOptions withMaxBodyBytes(long n) {
        return new ServerOptions(host, port, parallel, queueSize, apiKey, aliases, requestTimeout, prefillBudget, n,
            corsOrigins, shutdownGrace, cachePrompt, cacheRamBytes);
    }

    public ServerOptions withPromptCache(boolean on, long ramBytes) {
        return new ServerOptions(host, port, parallel, queueSize, apiKey, aliases, requestTimeout, prefillBudget, maxBodyBytes,
            corsOrigins, shutdownGrace, on, ramBytes);
    }
}
