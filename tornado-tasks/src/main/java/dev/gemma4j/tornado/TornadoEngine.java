package dev.gemma4j.tornado;

import dev.gemma4j.engine.ContextOverflowException;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineArguments;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.engine.SlidingRings;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Weights;
import dev.gemma4j.model.NonFiniteValueException;
import java.util.List;
import java.util.Map;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;

/**
 * The TornadoVM backend: the forward pass of {@link ForwardPlan} on one device (OpenCL, PTX or SPIR-V),
 * weights uploaded once in their stored format, KV caches on the device (f32, or f16 with {@code --kv-cache
 * f16}), the TaskGraph and execution plan built once and reused for every step. Rows of a step are a prefill
 * chunk of one session or one token of each of several sessions; a step of {@code n} rows is one pass over the
 * chain of graphs (one {@code execute()} each), and a decoded token of one session is one step of
 * {@link #launchesPerStep()} kernel launches.
 */
public final class TornadoEngine implements Engine {
    static {
        // TornadoVM encodes a task graph's schedule in a fixed-size bytecode buffer (4 KB by default, enough for
        // a few dozen tasks); the whole model is one graph of about 25 tasks per layer. Read once, when
        // TornadoVM compiles its first graph, so setting it here (unless the user did) is early enough.
        if (System.getProperty("tornado.tvm.maxbytecodesize") == null) {
            System.setProperty("tornado.tvm.maxbytecodesize", Integer.toString(1 << 20));
        }
    }

    private final Gemma4Config cfg;
    private final EngineOptions options;
    private final Tuning tun;
    private final ForwardPlan fp;
    private final TornadoExecutionPlan plan;
    private final int graphCount;
    private final TornadoDevice device;
    private final TornadoSession[] slots;
    private final String headName;
    private final float[][] oneLogits = new float[1][];
    private long executions;
    private long rowsEvaluated;
    private boolean closed;

    /**
     * Opens the model on the device {@code deviceSpec} ("backend:device" as {@code tornado --devices} numbers
     * them; null for TornadoVM's default) with the profile's {@code tornado.*} settings.
     */
    public TornadoEngine(GgufFile gguf, EngineOptions options, Map<String, String> settings, String deviceSpec) {
        this(gguf, options, Tuning.from(settings), deviceSpec, settings);
    }

    TornadoEngine(GgufFile gguf, EngineOptions options, Tuning tuning, String deviceSpec) {
        this(gguf, options, tuning, deviceSpec, Map.of());
    }

    private TornadoEngine(GgufFile gguf, EngineOptions options, Tuning tuning, String deviceSpec, Map<String, String> settings) {
        this.cfg = Gemma4Config.read(gguf);
        this.options = options;
        this.tun = tuning;
        Gemma4Weights weights = Gemma4Weights.load(gguf, cfg);
        DeviceModel.checkFormats(weights);
        this.device = device(deviceSpec);
        checkMemory(gguf);
        DeviceModel dm = DeviceModel.upload(cfg, weights);
        this.headName = dm.outputHead.name();
        this.fp = new ForwardPlan(cfg, dm, tun, options.contextLength(), options.kvCacheType());
        ImmutableTaskGraph[] itgs = new ImmutableTaskGraph[fp.graphs.size()];
        for (int i = 0; i < itgs.length; i++) {
            itgs[i] = fp.graphs.get(i).snapshot();
        }
        this.plan = new TornadoExecutionPlan(itgs);
        this.graphCount = itgs.length;
        plan.withGridScheduler(fp.grid).withDevice(device);
        // no -cl-fast-relaxed-math (TornadoVM's OpenCL default): it drops NaN/inf semantics and lets the
        // compiler reassociate the rounding arithmetic that reproduces llama.cpp's activations
        plan.withCompilerFlags(TornadoVMBackendType.OPENCL, "-w");
        if (Boolean.parseBoolean(settings.getOrDefault("tornado.cudaGraph", "false"))) {
            // PTX only (profiles/ptx.properties): the whole step replayed as one CUDA graph, saving the
            // per-launch dispatch cost of the ~25 kernels per layer
            plan.withCUDAGraph();
        }
        this.slots = new TornadoSession[tun.sessions()];
    }

    static TornadoDevice device(String spec) {
        if (spec == null || spec.isBlank()) {
            return TornadoExecutionPlan.DEFAULT_DEVICE;
        }
        String[] p = spec.trim().split(":");
        if (p.length != 2) {
            throw new IllegalArgumentException("device must be BACKEND:DEVICE as 'tornado --devices' numbers them (e.g. 0:0), got '" + spec + "'");
        }
        try {
            return TornadoExecutionPlan.getDevice(Integer.parseInt(p[0]), Integer.parseInt(p[1]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("device must be BACKEND:DEVICE (two numbers), got '" + spec + "'");
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("no TornadoVM device " + spec + " (see 'tornado --devices'): " + e.getMessage());
        }
    }

    /** Device bytes the model needs with these options: weights as stored, KV caches and activations. */
    public static long requiredBytes(GgufFile gguf, EngineOptions options, Map<String, String> settings) {
        Gemma4Config c = Gemma4Config.read(gguf);
        return DeviceModel.weightBytes(gguf) + ForwardPlan.estimateBytes(c, Tuning.from(settings), options.contextLength(), options.kvCacheType());
    }

    private void checkMemory(GgufFile gguf) {
        long need = DeviceModel.weightBytes(gguf) + ForwardPlan.estimateBytes(cfg, tun, options.contextLength(), options.kvCacheType());
        long have = device.getMaxGlobalMemory();
        long limit = parseSize(System.getProperty("tornado.device.memory", "4GB"));
        if (need > have) {
            throw new IllegalStateException(String.format("the model needs %.2f GiB of device memory, %s has %.2f GiB; use a smaller quantization,"
                + " a shorter --context (now %d), --kv-cache f16 or fewer tornado.sessions (now %d)", gib(need), device.getDeviceName(), gib(have),
                options.contextLength(), tun.sessions()));
        }
        if (need > limit) {
            throw new IllegalStateException(String.format("the model needs %.2f GiB of device memory, TornadoVM may use %.2f GiB;"
                + " raise -Dtornado.device.memory (jvm.args of the profile) to at least %dGB", gib(need), gib(limit), (long) Math.ceil(gib(need)) + 1));
        }
    }

    private static double gib(long b) {
        return b / (double) (1L << 30);
    }

    static long parseSize(String s) {
        String v = s.trim().toUpperCase(java.util.Locale.ROOT);
        long mul = 1;
        if (v.endsWith("GB")) {
            mul = 1L << 30;
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("MB")) {
            mul = 1L << 20;
            v = v.substring(0, v.length() - 2);
        }
        return (long) (Double.parseDouble(v.trim()) * mul);
    }

    @Override
    public Gemma4Config config() {
        return cfg;
    }

    @Override
    public EngineOptions options() {
        return options;
    }

    /** Kernel launches of one step (every task of every graph). */
    public int launchesPerStep() {
        return fp.launchesPerStep();
    }

    /** Steps so far (each runs the chain of graphs once), and rows evaluated by them. */
    public long executions() {
        return executions;
    }

    public long rowsEvaluated() {
        return rowsEvaluated;
    }

    public String deviceName() {
        return device.getDeviceName();
    }

    /** The greedy token of each row of the last step (argmax on the device). */
    public int lastArgmax(int row) {
        return fp.argmax.get(row);
    }

    @Override
    public synchronized Session newSession() {
        checkOpen();
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] == null) {
                // the sliding layers' rings are ForwardPlan.capacity long, as on the CPU (pos % capacity)
                int ring = Math.min(options.contextLength(), cfg.slidingWindow() + fp.batch - 1);
                slots[i] = new TornadoSession(this, i, options.contextLength(), new SlidingRings(cfg, ring));
                return slots[i];
            }
        }
        throw new IllegalStateException("all " + slots.length + " device sessions are in use (profile setting tornado.sessions)");
    }

    synchronized void release(TornadoSession s) {
        if (slots[s.slot] == s) {
            slots[s.slot] = null;
        }
    }

    @Override
    public synchronized void prefill(Session session, int[] tokens, float[] logits) {
        checkOpen();
        TornadoSession s = own(session);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        checkLogits(logits);
        for (int t : tokens) {
            checkToken(t);
        }
        if ((long) s.position + tokens.length > s.contextLength()) {
            throw new ContextOverflowException(s.position, tokens.length, s.contextLength());
        }
        int b = fp.batch;
        for (int start = 0; start < tokens.length; start += b) {
            int n = Math.min(b, tokens.length - start);
            for (int r = 0; r < n; r++) {
                setRow(r, tokens[start + r], s.position + r, s.slot);
            }
            step(n);
            s.position += n;
            if (start + n == tokens.length) {
                copyLogits(n - 1, logits);
            }
        }
    }

    @Override
    public synchronized void decode(List<? extends Session> sessions, int[] tokens, float[][] logits) {
        checkOpen();
        int n = sessions.size();
        if (tokens.length != n || logits.length != n) {
            throw new IllegalArgumentException("decode: " + n + " sessions, " + tokens.length + " tokens, " + logits.length + " logit arrays");
        }
        for (int i = 0; i < n; i++) {
            TornadoSession s = own(sessions.get(i));
            for (int j = 0; j < i; j++) {
                if (sessions.get(j) == s) {
                    throw new IllegalArgumentException("decode: the same session appears twice");
                }
            }
            checkToken(tokens[i]);
            if (logits[i] != null) {
                checkLogits(logits[i]);
            }
            if (s.position + 1 > s.contextLength()) {
                throw new ContextOverflowException(s.position, 1, s.contextLength());
            }
        }
        int b = fp.batch;
        for (int start = 0; start < n; start += b) {
            int m = Math.min(b, n - start);
            for (int r = 0; r < m; r++) {
                TornadoSession s = (TornadoSession) sessions.get(start + r);
                setRow(r, tokens[start + r], s.position, s.slot);
            }
            step(m);
            for (int r = 0; r < m; r++) {
                ((TornadoSession) sessions.get(start + r)).position++;
                if (logits[start + r] != null) {
                    copyLogits(r, logits[start + r]);
                }
            }
        }
    }

    /**
     * A mixed step (continuous batching): every session's tokens become consecutive rows of the same
     * batches, decoding sessions and prompt pieces together, B rows per step; each row carries its own
     * session slot and position, so nothing depends on what else shares the batch.
     */
    @Override
    public synchronized void step(List<? extends Session> sessions, int[][] tokens, float[][] logits) {
        checkOpen();
        int n = sessions.size();
        if (tokens.length != n || logits.length != n) {
            throw new IllegalArgumentException("step: " + n + " sessions, " + tokens.length + " token lists, " + logits.length + " logit arrays");
        }
        for (int i = 0; i < n; i++) {
            TornadoSession s = own(sessions.get(i));
            for (int j = 0; j < i; j++) {
                if (sessions.get(j) == s) {
                    throw new IllegalArgumentException("step: the same session appears twice");
                }
            }
            if (tokens[i].length == 0) {
                throw new IllegalArgumentException("step: session " + i + " has no tokens");
            }
            for (int t : tokens[i]) {
                checkToken(t);
            }
            if (logits[i] != null) {
                checkLogits(logits[i]);
            }
            if ((long) s.position + tokens[i].length > s.contextLength()) {
                throw new ContextOverflowException(s.position, tokens[i].length, s.contextLength());
            }
        }
        int b = fp.batch;
        int rows = 0;
        int[] rowSession = new int[b];
        int[] rowIndex = new int[b];
        for (int i = 0; i < n; i++) {
            TornadoSession s = (TornadoSession) sessions.get(i);
            for (int j = 0; j < tokens[i].length; j++) {
                setRow(rows, tokens[i][j], s.position + j, s.slot);
                rowSession[rows] = i;
                rowIndex[rows] = j;
                rows++;
                if (rows == b) {
                    stepAndCollect(rows, rowSession, rowIndex, tokens, logits);
                    rows = 0;
                }
            }
        }
        if (rows > 0) {
            stepAndCollect(rows, rowSession, rowIndex, tokens, logits);
        }
        for (int i = 0; i < n; i++) {
            ((TornadoSession) sessions.get(i)).position += tokens[i].length;
        }
    }

    private void stepAndCollect(int rows, int[] rowSession, int[] rowIndex, int[][] tokens, float[][] logits) {
        step(rows);
        for (int r = 0; r < rows; r++) {
            int i = rowSession[r];
            if (rowIndex[r] == tokens[i].length - 1 && logits[i] != null) {
                copyLogits(r, logits[i]);
            }
        }
    }

    @Override
    public synchronized void decode(Session session, int token, float[] logits) {
        oneLogits[0] = logits;
        try {
            decode(List.of(session), new int[] {token}, oneLogits);
        } finally {
            oneLogits[0] = null;
        }
    }

    private void setRow(int r, int token, int pos, int slot) {
        fp.tokens.set(r, token);
        fp.positions.set(r, pos);
        fp.slots.set(r, slot);
        fp.setRope(r, pos);
    }

    /**
     * One step: the graphs run one at a time, in order, so that each takes over the residual stream's device
     * buffer from the graph run just before it (TornadoVM 5.2 resolves consumeFromDevice against the last
     * executed graph, which a single execute() of the whole plan sets to the tail for every graph).
     */
    private void step(int rows) {
        fp.nrows.set(0, rows);
        StringBuilder profile = profiling ? new StringBuilder() : null;
        long kernelNanos = 0;
        long bytes = 0;
        for (int g = 0; g < graphCount; g++) {
            TornadoExecutionResult r = plan.withGraph(g).execute();
            if (profiling) {
                profile.append(r.getProfilerResult().getProfileLog());
                kernelNanos += r.getProfilerResult().getDeviceKernelTime();
                bytes += r.getProfilerResult().getTotalBytesTransferred();
            }
        }
        if (profiling) {
            lastProfile = profile.toString();
            lastKernelNanos = kernelNanos;
            lastBytesTransferred = bytes;
        }
        executions++;
        rowsEvaluated += rows;
    }

    private boolean profiling;
    private String lastProfile = "";
    private long lastKernelNanos;
    private long lastBytesTransferred;

    /** Turns TornadoVM's profiler on (per-task kernel times of each step, for measurements). */
    public synchronized void enableProfiler() {
        plan.withAllGraphs();
        plan.withProfiler(ProfilerMode.SILENT);
        profiling = true;
    }

    /** TornadoVM's profile of the last step (JSON per graph, per task), when the profiler is on. */
    public synchronized String lastProfile() {
        return lastProfile;
    }

    /** Bytes copied between host and device by the last step, when the profiler is on. */
    public synchronized long lastBytesTransferred() {
        return lastBytesTransferred;
    }

    /** Device kernel time of the last step in ns, when the profiler is on. */
    public synchronized long lastKernelNanos() {
        return lastKernelNanos;
    }

    private void copyLogits(int row, float[] out) {
        int v = cfg.vocabSize();
        int o = row * v;
        boolean finite = true;
        for (int i = 0; i < v; i++) {
            float x = fp.logits.get(o + i);
            finite &= Float.isFinite(x);
            out[i] = x;
        }
        if (!finite) {
            // weights were scanned before upload, so this is an overflow inside the pass; the CPU engine checks
            // every product and names the tensor where it starts
            throw new NonFiniteValueException(headName + " (logits on the device; run with --profile cpu to find the first tensor)");
        }
    }

    private TornadoSession own(Session session) {
        if (!(session instanceof TornadoSession s) || s.engine != this) {
            throw new IllegalArgumentException("session does not belong to this engine");
        }
        s.checkOpen();
        return s;
    }

    private void checkToken(int t) {
        EngineArguments.checkToken(t, cfg.vocabSize());
    }

    private void checkLogits(float[] logits) {
        EngineArguments.checkLogits(logits, cfg.vocabSize());
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("engine is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            plan.withAllGraphs();
            plan.freeDeviceMemory();
            plan.close();
        } catch (Exception e) {
            // closing must not fail; the device memory goes with the process anyway
        }
    }
}
