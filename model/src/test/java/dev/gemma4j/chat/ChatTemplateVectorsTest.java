package dev.gemma4j.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Renders every recorded conversation and compares with llama-server's {@code /apply-template} output for
 * the official Gemma 4 template ({@code chat-edge/}, {@code references/}) and the initial revision
 * ({@code references-initial/}); see {@code src/test/resources/chat/README.md} for where the files come from.
 * {@code NAME.resp} files record requests llama-server refuses; we refuse them too (always as a 400).
 */
class ChatTemplateVectorsTest {

    static Stream<String> cases() throws IOException, URISyntaxException {
        return Stream.of("chat-edge", "references", "references-initial").flatMap(dir -> names(dir).stream().map(n -> dir + "/" + n));
    }

    private static List<String> names(String dir) {
        try {
            var url = ChatTemplateVectorsTest.class.getResource("/chat/" + dir);
            if (url == null) {
                return List.of();
            }
            try (Stream<Path> s = Files.list(Path.of(url.toURI()))) {
                return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json"))
                    .map(n -> n.substring(0, n.length() - 5)).sorted().toList();
            }
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path resource(String rel) {
        try {
            return Path.of(ChatTemplateVectorsTest.class.getResource("/chat/" + rel).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersLikeLlamaServer(String name) throws IOException {
        Path json = resource(name + ".json");
        Path txt = json.resolveSibling(json.getFileName().toString().replace(".json", ".txt"));
        Path resp = json.resolveSibling(json.getFileName().toString().replace(".json", ".resp"));
        String body = Files.readString(json, StandardCharsets.UTF_8);
        Gemma4ChatTemplate template = name.startsWith("references-initial/")
            ? Gemma4ChatTemplate.initial() : Gemma4ChatTemplate.official();
        if (Files.exists(txt)) {
            ChatRequest req = ChatRequest.parse(body);
            String expected = Files.readString(txt, StandardCharsets.UTF_8);
            assertEquals(expected, template.render(req, req.thinking(true)));
        } else {
            assertTrue(Files.exists(resp), "a case needs NAME.txt or NAME.resp: " + name);
            String refusal = Files.readString(resp, StandardCharsets.UTF_8);
            RuntimeException e = assertThrows(ChatRequestException.class, () -> {
                ChatRequest req = ChatRequest.parse(body);
                template.render(req, req.thinking(true));
            });
            assertFalse(e.getMessage().isBlank());
            if (refusal.contains("image input is not supported")) {
                assertInstanceOf(UnsupportedContentException.class, e);
            }
        }
    }
}
