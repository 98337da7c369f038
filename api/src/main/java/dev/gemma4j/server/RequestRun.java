package dev.gemma4j.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.chat.Gemma4OutputParser;
import dev.gemma4j.chat.ToolCall;
import dev.gemma4j.engine.Generator;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.StreamingDecoder;
import io.micronaut.http.sse.Event;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One chat or text completion request while it runs: its n choices (one {@link GenerationJob} each) turn
 * tokens into text, apply stop strings and (chat) the output parser, and either stream OpenAI chunks or
 * build the whole response at the end. Streamed and non-streamed answers go through exactly the same
 * steps, so they are identical. The listener methods run on the scheduler thread.
 */
final class RequestRun {
    enum Kind { CHAT, TEXT }

    private static final SecureRandom RANDOM = new SecureRandom();
    static final String FINGERPRINT = "gemma4j-0.1.0";

    private final Kind kind;
    private final ObjectMapper json;
    private final Gemma4Tokenizer tokenizer;
    private final GenerationParams params;
    private final Gemma4OutputParser.Options parserOptions;
    private final String id;
    private final String model;
    private final long created = System.currentTimeMillis() / 1000;
    private final int promptTokens;
    private final Choice[] choices;
    private final List<GenerationJob> jobs = new ArrayList<>();
    private final Sinks.Many<Event<String>> events;
    private final Sinks.One<String> body;
    private int done;
    private boolean failed;

    RequestRun(Kind kind, ObjectMapper json, Gemma4Tokenizer tokenizer, GenerationParams params,
               Gemma4OutputParser.Options parserOptions, String model, int promptTokens) {
        this.kind = kind;
        this.json = json;
        this.tokenizer = tokenizer;
        this.params = params;
        this.parserOptions = parserOptions;
        this.model = model;
        this.promptTokens = promptTokens;
        this.id = (kind == Kind.CHAT ? "chatcmpl-" : "cmpl-") + randomId(24);
        this.choices = new Choice[params.n()];
        for (int i = 0; i < choices.length; i++) {
            choices[i] = new Choice(i);
        }
        this.events = params.stream() ? Sinks.many().unicast().onBackpressureBuffer() : null;
        this.body = params.stream() ? null : Sinks.one();
    }

    static String randomId(int n) {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    /** The jobs to submit, one per choice. */
    List<GenerationJob> jobs(int[] prompt, int maxTokens, long deadlineNanos,
                             java.util.function.Supplier<dev.gemma4j.sampling.LogitsProcessor> processors) {
        if (jobs.isEmpty()) {
            for (int i = 0; i < choices.length; i++) {
                jobs.add(new GenerationJob(prompt, params.samplingFor(i), maxTokens, params.logitBias(), deadlineNanos, choices[i],
                    processors != null ? processors.get() : null, params.cachePrompt()));
            }
            if (events != null && kind == Kind.CHAT) {
                for (int i = 0; i < choices.length; i++) {
                    events.tryEmitNext(Event.of(chunk(i, null, true, List.of(), null).toString()));
                }
            }
        }
        return jobs;
    }

    /** The SSE stream (stream: true); cancelling it (client gone) cancels the jobs. */
    Flux<Event<String>> events() {
        return events.asFlux().doOnCancel(this::cancel);
    }

    /** The whole JSON response (stream: false), or a {@link ServerException}. */
    Mono<String> body() {
        return body.asMono().doOnCancel(this::cancel);
    }

    void cancel() {
        for (GenerationJob j : jobs) {
            j.cancel();
        }
    }

    /** One choice: its text pipeline and what it has produced. */
    private final class Choice implements GenerationJob.Listener {
        final int index;
        final StreamingDecoder decoder;
        final StopStrings stop = new StopStrings(params.stop());
        final Gemma4OutputParser parser;
        final StringBuilder text = new StringBuilder();
        final List<ObjectNode> logprobs = new ArrayList<>();
        final List<ObjectNode> pendingLogprobs = new ArrayList<>();
        final List<String> callIds = new ArrayList<>();
        String finishReason;
        int generated;
        int cached;

        Choice(int index) {
            this.index = index;
            // chat output keeps the special marker tokens (<|channel>, <|tool_call>) for the parser to place
            this.decoder = tokenizer.streamingDecoder(kind == Kind.CHAT);
            this.parser = kind == Kind.CHAT ? new Gemma4OutputParser(parserOptions) : null;
        }

        @Override
        public boolean onToken(int token, float[] logits) {
            if (params.topLogprobs() >= 0) {
                ObjectNode lp = Logprobs.entry(json, tokenizer, token, logits, params.topLogprobs());
                logprobs.add(lp);
                pendingLogprobs.add(lp);
            }
            String safe = stop.feed(decoder.accept(token));
            emit(safe, null);
            return !stop.hit();
        }

        @Override
        public void onPromptCached(int tokens) {
            cached = tokens;
        }

        @Override
        public void onFinish(Generator.FinishReason reason, int prompt, int generated) {
            this.generated = generated;
            if (!stop.hit()) {
                String rest = stop.feed(decoder.flush());
                emit(rest + stop.flush(), null);
            }
            boolean limit = reason == Generator.FinishReason.LENGTH || reason == Generator.FinishReason.CONTEXT;
            if (parser != null) {
                Gemma4OutputParser.Delta d = parser.finish(limit ? Gemma4OutputParser.StopCause.MAX_TOKENS
                    : Gemma4OutputParser.StopCause.END_OF_GENERATION);
                if (events != null && (!d.isEmpty() || !pendingLogprobs.isEmpty())) {
                    sendDelta(d);
                }
                finishReason = parser.result().finishReason().wireName();
            } else {
                finishReason = limit ? "length" : "stop";
                if (events != null && !pendingLogprobs.isEmpty()) {
                    sendText("");
                }
            }
            if (events != null) {
                events.tryEmitNext(Event.of(chunk(index, null, false, List.of(), finishReason).toString()));
            }
            choiceDone();
        }

        @Override
        public void onError(ServerException error) {
            if (failed) {
                return;
            }
            failed = true;
            cancel();
            if (events != null) {
                // the 200 and earlier chunks are already sent: the error goes in the stream, as llama-server does
                events.tryEmitNext(Event.of(Errors.body(json, error).toString()));
                events.tryEmitComplete();
            } else {
                body.tryEmitError(error);
            }
        }

        private void emit(String piece, Object unused) {
            if (piece.isEmpty() && pendingLogprobs.isEmpty()) {
                return;
            }
            if (parser != null) {
                Gemma4OutputParser.Delta d = parser.feed(piece);
                if (events != null && (!d.isEmpty() || !pendingLogprobs.isEmpty())) {
                    sendDelta(d);
                }
            } else {
                text.append(piece);
                if (events != null) {
                    sendText(piece);
                }
            }
        }

        private void sendDelta(Gemma4OutputParser.Delta d) {
            ObjectNode c = chunk(index, d, false, d.toolCalls(), null);
            events.tryEmitNext(Event.of(c.toString()));
        }

        private void sendText(String piece) {
            ObjectNode c = textChunk(index, piece, null);
            events.tryEmitNext(Event.of(c.toString()));
        }

        /** Chunk logprobs: those of the tokens since the previous chunk. */
        ArrayNode takeLogprobs() {
            ArrayNode a = json.createArrayNode();
            a.addAll(pendingLogprobs);
            pendingLogprobs.clear();
            return a;
        }

        ObjectNode callJson(ToolCall call, boolean withIndex) {
            ObjectNode o = json.createObjectNode();
            if (withIndex) {
                o.put("index", callIds.size());
            }
            String callId = call.id() != null ? call.id() : "call_" + randomId(24);
            callIds.add(callId);
            o.put("id", callId);
            o.put("type", "function");
            ObjectNode f = o.putObject("function");
            f.put("name", call.name());
            f.put("arguments", call.arguments());
            return o;
        }
    }

    private ObjectNode head(String object) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", created);
        o.put("model", model);
        o.put("system_fingerprint", FINGERPRINT);
        return o;
    }

    /** A chat.completion.chunk for one choice: a delta (or the role opener) and/or the finish reason. */
    private ObjectNode chunk(int index, Gemma4OutputParser.Delta d, boolean opener, List<ToolCall> calls, String finish) {
        if (kind == Kind.TEXT) {
            return opener ? null : textChunk(index, "", finish);
        }
        ObjectNode o = head("chat.completion.chunk");
        ArrayNode cs = o.putArray("choices");
        ObjectNode c = cs.addObject();
        c.put("index", index);
        ObjectNode delta = c.putObject("delta");
        if (opener) {
            delta.put("role", "assistant");
            delta.put("content", "");
        }
        if (d != null) {
            if (d.reasoningContent() != null) {
                delta.put("reasoning_content", d.reasoningContent());
            }
            if (d.content() != null) {
                delta.put("content", d.content());
            }
            if (!calls.isEmpty()) {
                ArrayNode tc = delta.putArray("tool_calls");
                for (ToolCall call : calls) {
                    tc.add(choices[index].callJson(call, true));
                }
            }
        }
        Choice ch = choices[index];
        if (params.topLogprobs() >= 0 && !opener && finish == null) {
            c.putObject("logprobs").set("content", ch.takeLogprobs());
        } else {
            c.putNull("logprobs");
        }
        if (finish != null) {
            c.put("finish_reason", finish);
        } else {
            c.putNull("finish_reason");
        }
        return o;
    }

    private ObjectNode textChunk(int index, String text, String finish) {
        ObjectNode o = head("text_completion");
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", index);
        c.put("text", text);
        if (params.topLogprobs() >= 0 && finish == null) {
            c.putObject("logprobs").set("content", choices[index].takeLogprobs());
        } else {
            c.putNull("logprobs");
        }
        if (finish != null) {
            c.put("finish_reason", finish);
        } else {
            c.putNull("finish_reason");
        }
        return o;
    }

    private ObjectNode usage() {
        int completion = 0;
        int cached = 0;
        for (Choice c : choices) {
            completion += c.generated;
            // the prompt is counted once for all choices, so are its cached tokens (the most any choice reused)
            cached = Math.max(cached, c.cached);
        }
        ObjectNode u = json.createObjectNode();
        u.put("prompt_tokens", promptTokens);
        u.put("completion_tokens", completion);
        u.put("total_tokens", promptTokens + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached);
        return u;
    }

    private void choiceDone() {
        if (failed || ++done < choices.length) {
            return;
        }
        if (events != null) {
            if (params.includeUsage()) {
                ObjectNode u = head(kind == Kind.CHAT ? "chat.completion.chunk" : "text_completion");
                u.putArray("choices");
                u.set("usage", usage());
                events.tryEmitNext(Event.of(u.toString()));
            }
            events.tryEmitNext(Event.of("[DONE]"));
            events.tryEmitComplete();
            return;
        }
        ObjectNode o = head(kind == Kind.CHAT ? "chat.completion" : "text_completion");
        ArrayNode cs = o.putArray("choices");
        for (Choice ch : choices) {
            ObjectNode c = cs.addObject();
            c.put("index", ch.index);
            if (kind == Kind.CHAT) {
                Gemma4OutputParser.Result r = ch.parser.result();
                ObjectNode m = c.putObject("message");
                m.put("role", "assistant");
                if (r.toolCalls().isEmpty() || !r.content().isEmpty()) {
                    m.put("content", r.content());
                } else {
                    m.putNull("content");
                }
                if (r.reasoningContent() != null) {
                    m.put("reasoning_content", r.reasoningContent());
                }
                if (!r.toolCalls().isEmpty()) {
                    ArrayNode tc = m.putArray("tool_calls");
                    for (ToolCall call : r.toolCalls()) {
                        tc.add(ch.callJson(call, false));
                    }
                }
            } else {
                c.put("text", ch.text.toString());
            }
            if (params.topLogprobs() >= 0) {
                ArrayNode a = json.createArrayNode();
                a.addAll(ch.logprobs);
                c.putObject("logprobs").set("content", a);
            } else {
                c.putNull("logprobs");
            }
            c.put("finish_reason", ch.finishReason);
        }
        o.set("usage", usage());
        body.tryEmitValue(o.toString());
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
