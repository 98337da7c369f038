package dev.gemma4j.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The value rules of spec §8.5/§8.6 (verified against llama.cpp), template recognition, request validation. */
class ChatDetailsTest {

    private static String resource(String path) throws IOException {
        try (InputStream in = ChatDetailsTest.class.getResourceAsStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @CsvSource({"1e10,10000000000.0", "-3e-5,-0.00003", "1e-9,0.0", "123456.7890123,123456.789012", "1.0,1.0",
        "2.5,2.5", "0.1,0.1", "100.0,100.0", "-0.0,-0.0", "2e20,200000000000000000000.0"})
    void floatsPrintLikePrintfTrimmed(double value, String expected) {
        assertEquals(expected, TemplateValues.formatFloat(value));
    }

    @Test
    void trimRemovesOnlyCWhitespace() {
        assertEquals("\u00a0\u3000 x \u2003\u0085\u001c", TemplateValues.trim(" \t\n\u000b\f\r\u00a0\u3000 x \u2003\u0085\u001c \r\n"));
    }

    @Test
    void keysSortByCodePointCaseSensitive() {
        List<String> keys = new ArrayList<>(List.of("b", "B", "a", "_z", "Zeta", "zeta", "1k", "\uD83D\uDE00", "\uFFFD"));
        keys.sort(TemplateValues.CODE_POINT_ORDER);
        assertEquals(List.of("1k", "B", "Zeta", "_z", "a", "b", "zeta", "\uFFFD", "\uD83D\uDE00"), keys);
    }

    @Test
    void recognisesTheOfficialTemplateOnly() throws IOException {
        String official = resource("/chat/templates/google-gemma-4-31B-it.jinja");
        assertSame(Gemma4ChatTemplate.official(), Gemma4ChatTemplate.forTemplate(official));
        assertSame(Gemma4ChatTemplate.official(), Gemma4ChatTemplate.forTemplate("\n" + official.strip() + "\n"));
        assertSame(Gemma4ChatTemplate.initial(), Gemma4ChatTemplate.forTemplate(
            resource("/chat/templates/gemma-4-initial-from-ggml-vocab-gemma-4.jinja")));
        var older = assertThrows(UnsupportedChatTemplateException.class,
            () -> Gemma4ChatTemplate.forTemplate(resource("/chat/templates/google-gemma-4-31B-it-interleaved.jinja")));
        assertTrue(older.getMessage().contains("older Gemma 4 revision"), older.getMessage());
        var edited = assertThrows(UnsupportedChatTemplateException.class,
            () -> Gemma4ChatTemplate.forTemplate(official.replace("<|think|>", "<|think|> ")));
        assertTrue(edited.getMessage().contains("revision of the official Gemma 4 template"), edited.getMessage());
        var other = assertThrows(UnsupportedChatTemplateException.class,
            () -> Gemma4ChatTemplate.forTemplate("{% for m in messages %}{{ m.content }}{% endfor %}"));
        assertTrue(other.getMessage().contains("not a Gemma 4 template"), other.getMessage());
        assertThrows(UnsupportedChatTemplateException.class, () -> Gemma4ChatTemplate.forTemplate(""));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "[]",
        "{}",
        "{\"messages\": []}",
        "{\"messages\": [{\"content\": \"x\"}]}",
        "{\"messages\": [{\"role\": \"narrator\", \"content\": \"x\"}]}",
        "{\"messages\": [{\"role\": \"user\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"x\"}]}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"file\", \"file\": {}}]}]}",
        "{\"messages\": [{\"role\": \"assistant\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"\","
            + " \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1} x\"}}]}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"retrieval\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"chat_template_kwargs\": {\"enable_thinking\": 1}}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tool_choice\": \"sometimes\"}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}",
    })
    void invalidRequestsAreRefusedWithAMessage(String body) {
        ChatRequestException e = assertThrows(ChatRequestException.class, () -> ChatRequest.parse(body));
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:,\"}}",
        "{\"type\": \"input_audio\", \"input_audio\": {\"data\": \"\", \"format\": \"wav\"}}"})
    void mediaPartsAreNotSupported(String part) {
        String body = "{\"messages\": [{\"role\": \"user\", \"content\": [" + part + "]}]}";
        UnsupportedContentException e = assertThrows(UnsupportedContentException.class, () -> ChatRequest.parse(body));
        assertTrue(e.getMessage().contains("not supported by this server"), e.getMessage());
    }

    @Test
    void assistantOnlyConversationCannotBeContinued() {
        ChatRequest r = ChatRequest.parse("{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}");
        assertThrows(ChatRequestException.class, () -> Gemma4ChatTemplate.official().render(r, true));
    }

    @Test
    void dictConversionEscapesLikeNlohmannJson() {
        Gemma4Dict.Result r = Gemma4Dict.parse("{k:<|\"|>a\u0001\u007f\"\\\b\f\r\t\n<|\"|>}", 0);
        assertEquals(Gemma4Dict.Status.COMPLETE, r.status());
        assertEquals("{\"k\":\"a\\u0001\u007f\\\"\\\\\\b\\f\\r\\t\\n\"}", r.json());
        assertEquals(Gemma4Dict.Status.INCOMPLETE, Gemma4Dict.parse("{k:12", 0).status());
        assertEquals(Gemma4Dict.Status.INCOMPLETE, Gemma4Dict.parse("{k:<|\"", 0).status());
        assertEquals(Gemma4Dict.Status.MALFORMED, Gemma4Dict.parse("{k:1 ,", 0).status());
        assertEquals(Gemma4Dict.Status.MALFORMED, Gemma4Dict.parse("{k}", 0).status());
    }
}
