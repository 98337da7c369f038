package dev.gemma4j.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** The service's Prometheus metrics (Micrometer), served at {@code /metrics}. One per server. */
public final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger queueDepth = new AtomicInteger();
    private final AtomicInteger activeSlots = new AtomicInteger();
    private final Counter promptTokens;
    private final Counter generatedTokens;
    private final Timer firstToken;
    private final Timer interToken;
    private final Counter cachedTokens;
    private final Counter cacheHits;
    private final Counter cacheMisses;
    private final Counter cacheEvictions;
    private final java.util.concurrent.atomic.AtomicLong cacheBytes = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicInteger cacheCheckpoints = new AtomicInteger();

    public ServerMetrics() {
        Gauge.builder("gemma_queue_depth", queueDepth, AtomicInteger::get)
            .description("requests waiting for a slot").register(registry);
        Gauge.builder("gemma_active_slots", activeSlots, AtomicInteger::get)
            .description("slots running a request").register(registry);
        promptTokens = Counter.builder("gemma_prompt_tokens").description("prompt tokens evaluated").register(registry);
        generatedTokens = Counter.builder("gemma_generated_tokens").description("tokens generated").register(registry);
        firstToken = Timer.builder("gemma_time_to_first_token").description("from arrival to the first generated token")
            .publishPercentiles(0.5, 0.99).register(registry);
        interToken = Timer.builder("gemma_inter_token_latency").description("between two tokens of one sequence")
            .publishPercentiles(0.5, 0.99).register(registry);
        cachedTokens = Counter.builder("gemma_prompt_cache_tokens")
            .description("prompt tokens reused from a slot's prompt cache instead of evaluated").register(registry);
        cacheHits = Counter.builder("gemma_prompt_cache_requests").tag("result", "hit")
            .description("requests by whether they reused cached prompt tokens").register(registry);
        cacheMisses = Counter.builder("gemma_prompt_cache_requests").tag("result", "miss")
            .description("requests by whether they reused cached prompt tokens").register(registry);
        cacheEvictions = Counter.builder("gemma_prompt_cache_evictions")
            .description("prompt-cache checkpoints evicted (least recently used) to stay within --cache-ram").register(registry);
        Gauge.builder("gemma_prompt_cache_bytes", cacheBytes, java.util.concurrent.atomic.AtomicLong::get)
            .description("host memory held by prompt-cache checkpoints").baseUnit("bytes").register(registry);
        Gauge.builder("gemma_prompt_cache_checkpoints", cacheCheckpoints, AtomicInteger::get)
            .description("prompt-cache checkpoints held").register(registry);
    }

    void promptCache(int reused, int promptTokens) {
        cachedTokens.increment(reused);
        (reused > 0 ? cacheHits : cacheMisses).increment();
    }

    void promptCacheEviction() {
        cacheEvictions.increment();
    }

    void promptCacheMemory(long bytes, int checkpoints) {
        cacheBytes.set(bytes);
        cacheCheckpoints.set(checkpoints);
    }

    void queueDepth(int n) {
        queueDepth.set(n);
    }

    void activeSlots(int n) {
        activeSlots.set(n);
    }

    void firstToken(long nanos) {
        firstToken.record(Duration.ofNanos(nanos));
        generatedTokens.increment();
    }

    void interToken(long nanos) {
        interToken.record(Duration.ofNanos(nanos));
        generatedTokens.increment();
    }

    void promptTokens(int n) {
        promptTokens.increment(n);
    }

    /** Counts a finished HTTP request by path and status. */
    public void request(String path, int status) {
        Counter.builder("gemma_http_requests").tag("path", path).tag("status", Integer.toString(status))
            .description("HTTP requests by path and status").register(registry).increment();
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }
}
