package dev.gemma4j.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.nio.charset.StandardCharsets;

/** OpenAI {@code logprobs} entries: log-softmax of the model's logits (before sampling settings). */
final class Logprobs {
    private Logprobs() {
    }

    /** {@code {"token", "logprob", "bytes", "top_logprobs": [...]}} for the chosen token. */
    static ObjectNode entry(ObjectMapper json, Gemma4Tokenizer tok, int token, float[] logits, int top) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double logZ = max + Math.log(sum);
        ObjectNode e = tokenNode(json, tok, token, logits[token] - logZ);
        ArrayNode alts = e.putArray("top_logprobs");
        int[] best = topIds(logits, top);
        for (int id : best) {
            alts.add(tokenNode(json, tok, id, logits[id] - logZ));
        }
        return e;
    }

    private static ObjectNode tokenNode(ObjectMapper json, Gemma4Tokenizer tok, int id, double logprob) {
        byte[] b = tok.pieceBytes(id, true);
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("token", new String(b, StandardCharsets.UTF_8));
        o.put("logprob", logprob);
        ArrayNode bytes = o.putArray("bytes");
        for (byte x : b) {
            bytes.add(x & 0xff);
        }
        return o;
    }

    /** The k highest-scoring ids, best first (ties: lower id first). */
    static int[] topIds(float[] logits, int k) {
        int[] ids = new int[Math.min(k, logits.length)];
        int n = 0;
        for (int i = 0; i < logits.length; i++) {
            if (n < ids.length) {
                ids[n++] = i;
            } else if (ids.length > 0 && logits[i] > logits[ids[n - 1]]) {
                ids[n - 1] = i;
            } else {
                continue;
            }
            for (int j = n - 1; j > 0 && logits[ids[j]] > logits[ids[j - 1]]; j--) {
                int t = ids[j];
                ids[j] = ids[j - 1];
                ids[j - 1] = t;
            }
        }
        return ids;
    }
}
