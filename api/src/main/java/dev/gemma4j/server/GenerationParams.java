package dev.gemma4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemma4j.sampling.SamplerConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The generation fields shared by {@code /v1/chat/completions} and {@code /v1/completions}, read and
 * checked from the request body; every refusal is a 400 naming the field. Unknown fields are ignored.
 *
 * @param maxTokens   {@code max_completion_tokens} or {@code max_tokens}; null when not given (until the context is full)
 * @param stop        stop strings (the matched text is not returned)
 * @param topLogprobs -1 when {@code logprobs} is off, else how many alternatives to list (0..20)
 * @param cachePrompt {@code cache_prompt} (llama-server's field, default true): may the request reuse a slot's
 *                    cached prefix instead of evaluating its whole prompt
 */
record GenerationParams(String model, boolean stream, boolean includeUsage, Integer maxTokens, SamplerConfig sampling,
                        List<String> stop, Map<Integer, Float> logitBias, int topLogprobs, int n, boolean cachePrompt) {

    static final int MAX_N = 16;

    static GenerationParams parse(JsonNode body, int vocabSize) {
        String model = optString(body, "model");
        boolean stream = optBool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) {
                throw ServerException.badRequest("stream_options", "'stream_options' must be an object");
            }
            includeUsage = optBool(so, "include_usage", false);
        }
        Integer maxTokens = optInt(body, "max_completion_tokens");
        if (maxTokens == null) {
            maxTokens = optInt(body, "max_tokens");
        }
        if (maxTokens != null && maxTokens == -1) {
            maxTokens = null; // llama-server's "no limit"
        }
        if (maxTokens != null && maxTokens < 0) {
            throw ServerException.badRequest("max_tokens", "'max_tokens' must be at least 0, got " + maxTokens);
        }
        SamplerConfig defaults = SamplerConfig.gemmaDefaults(0);
        float temperature = optFloat(body, "temperature", defaults.temperature());
        int topK = optIntOr(body, "top_k", defaults.topK());
        float topP = optFloat(body, "top_p", defaults.topP());
        float minP = optFloat(body, "min_p", defaults.minP());
        float repeat = optFloat(body, "repeat_penalty", 1f);
        float presence = optFloat(body, "presence_penalty", 0f);
        float frequency = optFloat(body, "frequency_penalty", 0f);
        int lastN = optIntOr(body, "repeat_last_n", defaults.penaltyLastN());
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber()) {
                throw ServerException.badRequest("seed", "'seed' must be an integer");
            }
            seed = s.longValue();
        }
        if (temperature < 0) {
            throw ServerException.badRequest("temperature", "'temperature' must be at least 0, got " + temperature);
        }
        check(topK >= 0, "top_k", "'top_k' must be at least 0");
        check(topP > 0 && topP <= 1, "top_p", "'top_p' must be in (0, 1]");
        check(minP >= 0 && minP <= 1, "min_p", "'min_p' must be in [0, 1]");
        check(repeat > 0, "repeat_penalty", "'repeat_penalty' must be greater than 0");
        check(lastN >= 0, "repeat_last_n", "'repeat_last_n' must be at least 0");
        SamplerConfig sc = new SamplerConfig(temperature, topK, topP, minP, repeat, presence, frequency, lastN,
            seed != null ? seed : ThreadLocalRandom.current().nextLong());

        List<String> stop = new ArrayList<>();
        JsonNode st = body.get("stop");
        if (st != null && !st.isNull()) {
            if (st.isTextual()) {
                stop.add(st.textValue());
            } else if (st.isArray()) {
                for (JsonNode e : st) {
                    if (!e.isTextual()) {
                        throw ServerException.badRequest("stop", "'stop' must be a string or an array of strings");
                    }
                    stop.add(e.textValue());
                }
            } else {
                throw ServerException.badRequest("stop", "'stop' must be a string or an array of strings");
            }
            stop.removeIf(String::isEmpty);
        }

        Map<Integer, Float> bias = new HashMap<>();
        JsonNode lb = body.get("logit_bias");
        if (lb != null && !lb.isNull()) {
            if (!lb.isObject()) {
                throw ServerException.badRequest("logit_bias", "'logit_bias' must be an object of token id to bias");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = lb.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw ServerException.badRequest("logit_bias", "'logit_bias' key '" + e.getKey() + "' is not a token id");
                }
                if (id < 0 || id >= vocabSize) {
                    throw ServerException.badRequest("logit_bias", "'logit_bias' token id " + id + " is outside the vocabulary (0.."
                        + (vocabSize - 1) + ")");
                }
                JsonNode v = e.getValue();
                if (v.isBoolean() && !v.booleanValue()) {
                    bias.put(id, Float.NEGATIVE_INFINITY); // llama-server: false bans the token
                } else if (v.isNumber()) {
                    // OpenAI: -100 bans the token outright
                    bias.put(id, v.floatValue() <= -100f ? Float.NEGATIVE_INFINITY : v.floatValue());
                } else {
                    throw ServerException.badRequest("logit_bias", "'logit_bias' values must be numbers");
                }
            }
        }

        int topLogprobs = -1;
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull()) {
            if (lp.isBoolean()) {
                topLogprobs = lp.booleanValue() ? 0 : -1;
            } else if (lp.isIntegralNumber()) {
                topLogprobs = lp.intValue(); // /v1/completions: logprobs is the number of alternatives
            } else {
                throw ServerException.badRequest("logprobs", "'logprobs' must be a boolean");
            }
        }
        Integer tl = optInt(body, "top_logprobs");
        if (tl != null) {
            check(tl >= 0 && tl <= 20, "top_logprobs", "'top_logprobs' must be in 0..20");
            if (topLogprobs < 0) {
                throw ServerException.badRequest("top_logprobs", "'top_logprobs' needs 'logprobs': true");
            }
            topLogprobs = tl;
        }
        check(topLogprobs <= 20, "logprobs", "at most 20 log probabilities per token");
        int n = optIntOr(body, "n", 1);
        check(n >= 1 && n <= MAX_N, "n", "'n' must be in 1.." + MAX_N);
        boolean cachePrompt = optBool(body, "cache_prompt", true);
        return new GenerationParams(model, stream, includeUsage, maxTokens, sc, List.copyOf(stop), Map.copyOf(bias),
            topLogprobs, n, cachePrompt);
    }

    /** The sampler settings of choice {@code i} of n: each choice draws with its own seed. */
    SamplerConfig samplingFor(int i) {
        return i == 0 ? sampling : sampling.withSeed(sampling.seed() + i);
    }

    private static void check(boolean ok, String param, String message) {
        if (!ok) {
            throw ServerException.badRequest(param, message);
        }
    }

    static String optString(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ServerException.badRequest(field, "'" + field + "' must be a string");
        }
        return v.textValue();
    }

    static boolean optBool(JsonNode body, String field, boolean def) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isBoolean()) {
            throw ServerException.badRequest(field, "'" + field + "' must be a boolean");
        }
        return v.booleanValue();
    }

    static Integer optInt(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ServerException.badRequest(field, "'" + field + "' must be an integer");
        }
        return v.intValue();
    }

    static int optIntOr(JsonNode body, String field, int def) {
        Integer v = optInt(body, field);
        return v != null ? v : def;
    }

    static float optFloat(JsonNode body, String field, float def) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isNumber()) {
            throw ServerException.badRequest(field, "'" + field + "' must be a number");
        }
        return v.floatValue();
    }
}
