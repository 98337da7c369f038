package dev.gemma4j.server;

import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.model.Gemma4Config;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A real engine whose next-token scores are replaced by a script: after a prompt it makes the first token
 * of {@link #script} certain, after each scripted token the next one, then {@code end}. Everything after
 * the engine (sampling, stop tokens, the output parser, the SSE stream) is the server's own, so a test can
 * have a random-weight model answer with reasoning, tool calls or hostile Markdown of its choosing.
 */
final class ScriptedEngine implements Engine {
    private final Engine inner;
    private final int end;
    private volatile int[] script = new int[0];
    /** Per session: how many scripted tokens it has been given (only the scheduler thread calls the engine). */
    private final Map<Session, Integer> given = new IdentityHashMap<>();

    ScriptedEngine(Engine inner, int end) {
        this.inner = inner;
        this.end = end;
    }

    void script(int[] tokens) {
        this.script = tokens.clone();
    }

    @Override
    public Gemma4Config config() {
        return inner.config();
    }

    @Override
    public EngineOptions options() {
        return inner.options();
    }

    @Override
    public Session newSession() {
        return inner.newSession();
    }

    @Override
    public void prefill(Session session, int[] tokens, float[] logits) {
        inner.prefill(session, tokens, logits);
        override(session, tokens, logits);
    }

    @Override
    public void decode(List<? extends Session> sessions, int[] tokens, float[][] logits) {
        inner.decode(sessions, tokens, logits);
        for (int i = 0; i < sessions.size(); i++) {
            override(sessions.get(i), new int[] {tokens[i]}, logits[i]);
        }
    }

    @Override
    public void step(List<? extends Session> sessions, int[][] tokens, float[][] logits) {
        inner.step(sessions, tokens, logits);
        for (int i = 0; i < sessions.size(); i++) {
            if (logits[i] != null) {
                override(sessions.get(i), tokens[i], logits[i]);
            }
        }
    }

    /** The scripted token wins by 200 logits, so any sampling settings pick it. */
    private void override(Session session, int[] fed, float[] logits) {
        int[] s = script;
        int k = given.getOrDefault(session, 0);
        boolean continuing = k > 0 && fed.length == 1 && k <= s.length && fed[0] == s[k - 1];
        int n = continuing ? k : 0;
        int next = n < s.length ? s[n] : end;
        given.put(session, n + 1);
        Arrays.fill(logits, -100f);
        logits[next] = 100f;
    }

    @Override
    public void close() {
        inner.close();
    }
}
