package dev.gemma4j.server;

/**
 * What the HTTP layer reads: the options, the metrics and, once loading has finished, the model and its
 * scheduler. Registered as a singleton in the server's application context by {@link GemmaServer}; the
 * loading thread publishes the model once ({@link #ready}), after which it never changes.
 */
public final class ServerState {
    private final ServerOptions options;
    private final ServerMetrics metrics;
    private volatile ModelHost model;
    private volatile Scheduler scheduler;
    private volatile boolean draining;

    public ServerState(ServerOptions options, ServerMetrics metrics) {
        this.options = options;
        this.metrics = metrics;
    }

    public ServerOptions options() {
        return options;
    }

    public ServerMetrics metrics() {
        return metrics;
    }

    /** Publishes the loaded model; /health turns 200. */
    void ready(ModelHost model, Scheduler scheduler) {
        this.scheduler = scheduler;
        this.model = model;
    }

    /** SIGTERM: new requests get 503 from now on. */
    void drain() {
        draining = true;
    }

    boolean draining() {
        return draining;
    }

    /** The model, or null while loading. */
    public ModelHost model() {
        return model;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** The model and scheduler for a request, or a 503 while loading or shutting down. */
    ModelHost requireModel() {
        if (draining) {
            throw new ServerException(503, "server_error", "shutting_down", null, "the server is shutting down");
        }
        ModelHost m = model;
        if (m == null) {
            throw new ServerException(503, "server_error", "loading", null, "the model is loading");
        }
        return m;
    }
}
