package dev.gemma4j.server;

import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.Session;
import java.util.ArrayList;
import java.util.List;

/** One mixed step of the scheduler: session i appends tokens[i] and, when logits[i] != null, gets its logits. */
final class EngineStep {
    private EngineStep() {
    }

    static void run(Engine engine, List<Session> sessions, int[][] tokens, float[][] logits) {
        // single decoding rows go through one batched decode; a prompt piece through prefill
        List<Session> dec = new ArrayList<>();
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < sessions.size(); i++) {
            if (tokens[i].length == 1 && logits[i] != null) {
                dec.add(sessions.get(i));
                idx.add(i);
            }
        }
        if (!dec.isEmpty()) {
            int[] t = new int[dec.size()];
            float[][] l = new float[dec.size()][];
            for (int k = 0; k < t.length; k++) {
                t[k] = tokens[idx.get(k)][0];
                l[k] = logits[idx.get(k)];
            }
            engine.decode(dec, t, l);
        }
        for (int i = 0; i < sessions.size(); i++) {
            if (!(tokens[i].length == 1 && logits[i] != null)) {
                float[] out = logits[i] != null ? logits[i] : new float[engine.config().vocabSize()];
                engine.prefill(sessions.get(i), tokens[i], out);
            }
        }
    }
}
