/**
 * Structured output: generation constrained to JSON that matches a JSON schema, or to forced tool calls in
 * Gemma 4's syntax.
 *
 * <p>Per model, once: {@link dev.gemma4j.structured.TokenIndex#of(dev.gemma4j.tokenizer.Gemma4Tokenizer, int[])}
 * with the generation loop's stop tokens ({@code StopTokens.of(gguf).ids()}). Per request:
 * <ul>
 *   <li>{@link dev.gemma4j.structured.ResponseFormats#grammarOf} for OpenAI's {@code response_format}, or
 *       {@link dev.gemma4j.structured.JsonSchemaCompiler#compile(com.fasterxml.jackson.databind.JsonNode, boolean)};
 *       {@link dev.gemma4j.structured.ToolCallGrammar#compile} for {@code tool_choice} required / named with
 *       strict tools. These throw {@link dev.gemma4j.structured.UnsupportedSchemaException} (keyword and JSON
 *       pointer) or IllegalArgumentException for malformed input: both are HTTP 400.</li>
 *   <li>{@code new JsonConstraint(index, grammar)}, passed as the {@code LogitsProcessor} of
 *       {@code Generator.generate}; one per sequence. The loop stops by itself (STOP) once the value is
 *       closed. Render the prompt with thinking off: the constraint applies from the first generated token.</li>
 * </ul>
 *
 * <p>How: the schema compiles to a graph of value nodes ({@code Grammar}); {@code JsonAutomaton} is a
 * pushdown automaton over UTF-8 bytes on that graph (immutable stacks, a set of them while anyOf alternatives
 * are ambiguous); {@code JsonConstraint} walks the vocabulary's byte trie against the automaton state to find
 * the allowed tokens, with a shortcut inside strings.
 */
package dev.gemma4j.structured;
