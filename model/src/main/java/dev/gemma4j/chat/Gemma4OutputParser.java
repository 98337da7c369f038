package dev.gemma4j.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Splits what the model generates after the generation prompt into {@code reasoning_content},
 * {@code content} and {@code tool_calls}, incrementally: {@link #feed} text as it is decoded and get
 * {@link Delta}s; {@link #finish} at the end. The concatenated deltas equal the one-shot {@link #parse}.
 *
 * <p>The structure is llama.cpp's {@code peg-gemma4} parser (spec §6.5): thought blocks
 * {@code <|channel>thought … <channel|>} (ASCII whitespace after {@code thought} skipped) go to reasoning,
 * duplicated {@code <|channel>} are dropped, tool calls {@code <|tool_call>call:NAME{…}<tool_call|>} of
 * declared tools become calls with JSON arguments ({@link Gemma4Dict}). Unlike llama.cpp it never loses
 * text and never fails (spec §8.7):
 * <ul>
 *   <li>text before, between and after calls stays in content (llama.cpp drops it);</li>
 *   <li>a {@code <channel|>} that closes no thought, and a {@code <|channel>} not followed by
 *       {@code thought}, are dropped as markers, the text around them is kept (llama.cpp stops or
 *       answers 500);</li>
 *   <li>a call that is malformed, names an undeclared tool, or exceeds the limit when parallel calls are
 *       off stays as literal text in content (llama.cpp drops it silently);</li>
 *   <li>at the end: an unclosed thought is all reasoning; a call whose arguments are complete but which
 *       lacks {@code <tool_call|>} is still a call; a call cut inside its name or arguments is returned as
 *       text in content with finish reason {@code length}; a trailing {@code <} or {@code <|} is kept.</li>
 * </ul>
 * Markers are recognised only when tool calls are enabled ({@code <|tool_call>}) or always
 * ({@code <|channel>}, {@code <channel|>}); with reasoning extraction off, thought blocks stay in content
 * verbatim. Calls found here have no id ({@link ToolCall#id()} is null): the HTTP layer assigns ids.
 *
 * <p>Feed only what follows the generation prompt. For a prefilled final assistant message the prompt ends
 * with {@code <|channel>thought\n} + reasoning (+ {@code <channel|>} + content); llama-server parses that
 * prefill together with the output, so feed it first to answer the same way (the parse-prefill tests do).
 */
public final class Gemma4OutputParser {

    /**
     * @param toolNames         the callable tools; empty when tool calls are off (no tools, or
     *                          {@code tool_choice: none}), then {@code <|tool_call>} is plain text
     * @param parallelToolCalls whether more than one call is accepted
     * @param extractReasoning  false for {@code reasoning_format: none} (thoughts stay in content)
     */
    public record Options(Set<String> toolNames, boolean parallelToolCalls, boolean extractReasoning) {
        public Options {
            toolNames = Set.copyOf(toolNames);
        }

        public static Options plain() {
            return new Options(Set.of(), true, true);
        }

        /** The options a chat-completions request implies. */
        public static Options forRequest(ChatRequest request) {
            Set<String> names = request.toolCallsEnabled()
                ? Set.copyOf(request.tools().stream().map(ToolDefinition::name).toList()) : Set.of();
            return new Options(names, request.parallelToolCalls(), true);
        }
    }

    /** Why generation stopped. */
    public enum StopCause {
        /** an end-of-generation token or a stop string */
        END_OF_GENERATION,
        /** the token limit ({@code max_tokens}) */
        MAX_TOKENS
    }

    /** OpenAI {@code finish_reason}. */
    public enum FinishReason {
        STOP("stop"), LENGTH("length"), TOOL_CALLS("tool_calls");

        private final String wireName;

        FinishReason(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /** New output since the previous delta; fields are null / empty when nothing new. */
    public record Delta(String reasoningContent, String content, List<ToolCall> toolCalls) {
        public boolean isEmpty() {
            return reasoningContent == null && content == null && toolCalls.isEmpty();
        }
    }

    /** The whole parsed message; {@code reasoningContent} is null when there was none. */
    public record Result(String reasoningContent, String content, List<ToolCall> toolCalls, FinishReason finishReason) {
    }

    private static final String CHANNEL_OPEN = "<|channel>";
    private static final String CHANNEL_CLOSE = "<channel|>";
    private static final String CALL_OPEN = "<|tool_call>";
    private static final String CALL_CLOSE = "<tool_call|>";
    private static final String THOUGHT = "thought";

    private enum State { CONTENT, AFTER_CHANNEL_OPEN, THOUGHT_SPACE, REASONING, TOOL_CALL }

    private final Options options;
    private final List<String> contentMarkers;
    private State state = State.CONTENT;
    private final StringBuilder pending = new StringBuilder();
    private final StringBuilder callText = new StringBuilder();
    private boolean finished;
    private boolean truncatedCall;

    private final StringBuilder deltaReasoning = new StringBuilder();
    private final StringBuilder deltaContent = new StringBuilder();
    private final List<ToolCall> deltaCalls = new ArrayList<>();

    private final StringBuilder allReasoning = new StringBuilder();
    private final StringBuilder allContent = new StringBuilder();
    private final List<ToolCall> allCalls = new ArrayList<>();
    private Result result;

    public Gemma4OutputParser(Options options) {
        this.options = options;
        this.contentMarkers = options.toolNames().isEmpty()
            ? List.of(CHANNEL_OPEN, CHANNEL_CLOSE) : List.of(CHANNEL_OPEN, CHANNEL_CLOSE, CALL_OPEN);
    }

    /** One-shot parse of a complete output. */
    public static Result parse(String generated, Options options, StopCause cause) {
        Gemma4OutputParser p = new Gemma4OutputParser(options);
        p.feed(generated);
        p.finish(cause);
        return p.result();
    }

    /** Adds generated text; returns what can be told for sure so far. */
    public Delta feed(CharSequence text) {
        if (finished) {
            throw new IllegalStateException("the parser has finished");
        }
        pending.append(text);
        process();
        return takeDelta();
    }

    /** Ends the output: flushes held-back text and settles the finish reason. */
    public Delta finish(StopCause cause) {
        if (finished) {
            throw new IllegalStateException("the parser has finished");
        }
        finished = true;
        process();
        switch (state) {
            case CONTENT, AFTER_CHANNEL_OPEN -> emitContent(pending); // a lone <|channel> marker is dropped
            case THOUGHT_SPACE -> { }
            case REASONING -> emitReasoning(pending);
            case TOOL_CALL -> {
                CallScan scan = scanCall(callText);
                if (scan.kind == CallKind.ARGS_DONE) {
                    emitCall(scan.call);
                    emitContent(callText.subSequence(scan.end, callText.length()));
                } else {
                    emitContent(CALL_OPEN);
                    emitContent(callText);
                    truncatedCall = true;
                }
            }
        }
        pending.setLength(0);
        FinishReason reason;
        if (cause == StopCause.MAX_TOKENS || truncatedCall) {
            reason = FinishReason.LENGTH;
        } else if (!allCalls.isEmpty()) {
            reason = FinishReason.TOOL_CALLS;
        } else {
            reason = FinishReason.STOP;
        }
        result = new Result(allReasoning.isEmpty() ? null : allReasoning.toString(), allContent.toString(),
            List.copyOf(allCalls), reason);
        return takeDelta();
    }

    /** The parsed message (after {@link #finish}). */
    public Result result() {
        if (result == null) {
            throw new IllegalStateException("call finish() first");
        }
        return result;
    }

    private void process() {
        while (true) {
            switch (state) {
                case CONTENT -> {
                    int at = -1;
                    String marker = null;
                    for (String m : contentMarkers) {
                        int i = pending.indexOf(m);
                        if (i >= 0 && (at < 0 || i < at)) {
                            at = i;
                            marker = m;
                        }
                    }
                    if (at < 0) {
                        int keep = finished ? 0 : heldBack(pending, contentMarkers);
                        emitContent(pending.subSequence(0, pending.length() - keep));
                        pending.delete(0, pending.length() - keep);
                        return;
                    }
                    emitContent(pending.subSequence(0, at));
                    pending.delete(0, at + marker.length());
                    switch (marker) {
                        case CHANNEL_OPEN -> state = State.AFTER_CHANNEL_OPEN;
                        case CHANNEL_CLOSE -> { } // closes no thought: the marker is dropped
                        default -> {
                            if (!options.parallelToolCalls() && !allCalls.isEmpty()) {
                                emitContent(CALL_OPEN); // beyond the limit: stays text
                            } else {
                                state = State.TOOL_CALL;
                            }
                        }
                    }
                }
                case AFTER_CHANNEL_OPEN -> {
                    if (startsWith(pending, THOUGHT)) {
                        pending.delete(0, THOUGHT.length());
                        if (!options.extractReasoning()) {
                            emitContent(CHANNEL_OPEN + THOUGHT);
                        }
                        state = State.THOUGHT_SPACE;
                    } else if (startsWith(pending, CHANNEL_OPEN)) {
                        pending.delete(0, CHANNEL_OPEN.length()); // duplicated <|channel>: dropped
                    } else if (isPrefixOf(pending, THOUGHT) || isPrefixOf(pending, CHANNEL_OPEN)) {
                        return; // need more text (finish() handles the end)
                    } else {
                        state = State.CONTENT; // a <|channel> that opens no thought: the marker is dropped
                    }
                }
                case THOUGHT_SPACE -> {
                    int i = 0;
                    while (i < pending.length() && TemplateValues.isCSpace(pending.charAt(i))) {
                        i++;
                    }
                    if (!options.extractReasoning()) {
                        emitContent(pending.subSequence(0, i));
                    }
                    pending.delete(0, i);
                    if (pending.isEmpty()) {
                        return;
                    }
                    state = State.REASONING;
                }
                case REASONING -> {
                    int i = pending.indexOf(CHANNEL_CLOSE);
                    if (i < 0) {
                        int keep = finished ? 0 : heldBack(pending, List.of(CHANNEL_CLOSE));
                        emitReasoning(pending.subSequence(0, pending.length() - keep));
                        pending.delete(0, pending.length() - keep);
                        return;
                    }
                    emitReasoning(pending.subSequence(0, i));
                    pending.delete(0, i + CHANNEL_CLOSE.length());
                    if (!options.extractReasoning()) {
                        emitContent(CHANNEL_CLOSE);
                    }
                    state = State.CONTENT;
                }
                case TOOL_CALL -> {
                    callText.append(pending);
                    pending.setLength(0);
                    CallScan scan = scanCall(callText);
                    switch (scan.kind) {
                        case NEED_MORE, ARGS_DONE -> {
                            return;
                        }
                        case MALFORMED -> {
                            emitContent(CALL_OPEN); // not a call: the text stays, scanned again as content
                            pending.append(callText);
                        }
                        case CALL -> {
                            emitCall(scan.call);
                            pending.append(callText, scan.end, callText.length());
                        }
                    }
                    callText.setLength(0);
                    state = State.CONTENT;
                }
            }
        }
    }

    private enum CallKind {
        /** more text could still make (or break) a call */
        NEED_MORE,
        /** the arguments are complete; waiting to see whether {@code <tool_call|>} follows */
        ARGS_DONE,
        /** a call; {@code end} is where the text after it starts */
        CALL,
        /** not a call of a declared tool */
        MALFORMED
    }

    private record CallScan(CallKind kind, ToolCall call, int end) {
    }

    /** Looks at the text after {@code <|tool_call>}: {@code call:NAME{…}} then optionally {@code <tool_call|>}. */
    private CallScan scanCall(CharSequence text) {
        String prefix = "call:";
        if (text.length() < prefix.length()) {
            return new CallScan(isPrefixOf(text, prefix) ? CallKind.NEED_MORE : CallKind.MALFORMED, null, -1);
        }
        if (!startsWith(text, prefix)) {
            return new CallScan(CallKind.MALFORMED, null, -1);
        }
        int brace = -1;
        for (int i = prefix.length(); i < text.length(); i++) {
            if (text.charAt(i) == '{') {
                brace = i;
                break;
            }
        }
        if (brace < 0) {
            String partial = text.subSequence(prefix.length(), text.length()).toString();
            boolean possible = options.toolNames().stream().anyMatch(n -> n.startsWith(partial));
            return new CallScan(possible ? CallKind.NEED_MORE : CallKind.MALFORMED, null, -1);
        }
        String name = text.subSequence(prefix.length(), brace).toString();
        if (!options.toolNames().contains(name)) {
            return new CallScan(CallKind.MALFORMED, null, -1);
        }
        Gemma4Dict.Result args = Gemma4Dict.parse(text, brace);
        return switch (args.status()) {
            case INCOMPLETE -> new CallScan(CallKind.NEED_MORE, null, -1);
            case MALFORMED -> new CallScan(CallKind.MALFORMED, null, -1);
            case COMPLETE -> {
                ToolCall call = new ToolCall(null, name, args.json());
                CharSequence rest = text.subSequence(args.end(), text.length());
                if (startsWith(rest, CALL_CLOSE)) {
                    yield new CallScan(CallKind.CALL, call, args.end() + CALL_CLOSE.length());
                }
                if (isPrefixOf(rest, CALL_CLOSE)) {
                    yield new CallScan(CallKind.ARGS_DONE, call, args.end());
                }
                yield new CallScan(CallKind.CALL, call, args.end()); // no closing marker: still a call
            }
        };
    }

    /** How many trailing characters could be the start of one of the markers (held back until known). */
    private static int heldBack(CharSequence text, List<String> markers) {
        int best = 0;
        for (String m : markers) {
            for (int k = Math.min(m.length() - 1, text.length()); k > best; k--) {
                if (regionMatches(text, text.length() - k, m, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private static boolean regionMatches(CharSequence text, int from, String m, int len) {
        for (int i = 0; i < len; i++) {
            if (text.charAt(from + i) != m.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWith(CharSequence text, String prefix) {
        return text.length() >= prefix.length() && regionMatches(text, 0, prefix, prefix.length());
    }

    /** Whether {@code text} is a prefix of {@code s} (possibly empty, possibly all of it). */
    private static boolean isPrefixOf(CharSequence text, String s) {
        return text.length() <= s.length() && regionMatches(text, 0, s, text.length());
    }

    private void emitContent(CharSequence s) {
        deltaContent.append(s);
        allContent.append(s);
    }

    private void emitReasoning(CharSequence s) {
        if (options.extractReasoning()) {
            deltaReasoning.append(s);
            allReasoning.append(s);
        } else {
            emitContent(s);
        }
    }

    private void emitCall(ToolCall call) {
        deltaCalls.add(call);
        allCalls.add(call);
    }

    private Delta takeDelta() {
        Delta d = new Delta(deltaReasoning.isEmpty() ? null : deltaReasoning.toString(),
            deltaContent.isEmpty() ? null : deltaContent.toString(), List.copyOf(deltaCalls));
        deltaReasoning.setLength(0);
        deltaContent.setLength(0);
        deltaCalls.clear();
        return d;
    }
}
