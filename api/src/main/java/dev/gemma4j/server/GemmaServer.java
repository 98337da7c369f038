package dev.gemma4j.server;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The running service: a Micronaut application context built from {@link ServerOptions} (as property
 * values, no system properties), answering 503 on /health until {@link #load} has published the model,
 * then serving it with one {@link Scheduler}. Owns the model and the scheduler; {@link #close} drains.
 */
public final class GemmaServer implements AutoCloseable {
    private final ServerOptions options;
    private final ServerState state;
    private final ApplicationContext context;
    private final EmbeddedServer server;
    private ModelHost model;
    private Scheduler scheduler;

    private GemmaServer(ServerOptions options) {
        this.options = options;
        this.state = new ServerState(options, new ServerMetrics());
        Map<String, Object> props = new HashMap<>();
        props.put("micronaut.application.name", "gemma4j");
        props.put("micronaut.server.host", options.host());
        props.put("micronaut.server.port", options.port());
        props.put("micronaut.server.max-request-size", options.maxBodyBytes());
        // a long prompt read on a CPU streams nothing before its first token for minutes (a 3,000-token document
        // at a few tokens/s), and Micronaut's 5-minute idle timeouts would close such a connection, cancelling
        // the request: the connection may stay quiet as long as a request may last
        String idle = (options.requestTimeout() != null ? options.requestTimeout().plusMinutes(1) : java.time.Duration.ofDays(1))
            .toSeconds() + "s";
        props.put("micronaut.server.idle-timeout", idle);
        props.put("micronaut.server.read-idle-timeout", idle);
        props.put("micronaut.server.write-idle-timeout", idle);
        if (!options.corsOrigins().isEmpty()) {
            props.put("micronaut.server.cors.enabled", true);
            props.put("micronaut.server.cors.configurations.api.allowed-origins", options.corsOrigins());
        }
        // the chat page (resources under public/, index.html at /) and the browser libraries it loads, which
        // come as WebJars on the classpath; neither needs the API key (ApiFilter guards the API paths only)
        props.put("micronaut.router.static-resources.page.paths", "classpath:public");
        props.put("micronaut.router.static-resources.page.mapping", "/**");
        props.put("micronaut.router.static-resources.webjars.paths", "classpath:META-INF/resources/webjars");
        props.put("micronaut.router.static-resources.webjars.mapping", "/webjars/**");
        // the banner and startup line are ours (one line with the address, model, backend and slots)
        props.put("micronaut.banner.enabled", false);
        this.context = ApplicationContext.builder()
            .properties(props)
            .singletons(state)
            .deduceEnvironment(false)
            .banner(false)
            .start();
        this.server = context.getBean(EmbeddedServer.class);
        server.start();
    }

    /** Starts the HTTP server (answering "loading" until {@link #load}). */
    public static GemmaServer start(ServerOptions options) {
        return new GemmaServer(options);
    }

    /** Loads the model (the supplier opens it), starts the scheduler and turns /health to 200. */
    public void load(Supplier<ModelHost> loader) {
        ModelHost m = loader.get();
        this.model = m;
        this.scheduler = new Scheduler(m.engine(), m.stops(), options.parallel(), options.queueSize(),
            options.prefillBudget(), state.metrics(), options.cachePrompt(), options.cacheRamBytes());
        state.ready(m, scheduler);
    }

    public URI uri() {
        return URI.create("http://" + hostForUri(options.host()) + ":" + server.getPort());
    }

    private static String hostForUri(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    public int port() {
        return server.getPort();
    }

    public ServerState state() {
        return state;
    }

    /**
     * Stops taking requests (503), lets the running ones finish for up to the grace period, cancels the
     * rest, then closes the port and the model.
     */
    @Override
    public void close() {
        state.drain();
        if (scheduler != null) {
            scheduler.shutdown(options.shutdownGrace().toMillis());
        }
        try {
            server.stop();
        } finally {
            context.close();
            if (model != null) {
                model.close();
            }
        }
    }
}
