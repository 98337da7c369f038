package dev.gemma4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The model-name grammar and which files a name selects. */
class ModelFilesTest {

    private static List<HubFile> files(String... paths) {
        return java.util.Arrays.stream(paths).map(p -> new HubFile(p, 10, "00", null)).toList();
    }

    private static final List<HubFile> UNSLOTH = files(
        "README.md", ".gitattributes",
        "gemma-4-26B-A4B-it-Q4_K_M.gguf", "gemma-4-26B-A4B-it-Q4_K_S.gguf", "gemma-4-26B-A4B-it-UD-Q4_K_XL.gguf",
        "gemma-4-26B-A4B-it-Q8_0.gguf", "gemma-4-26B-A4B-it-MXFP4_MOE.gguf",
        "BF16/gemma-4-26B-A4B-it-BF16-00001-of-00002.gguf", "BF16/gemma-4-26B-A4B-it-BF16-00002-of-00002.gguf",
        "mmproj-F16.gguf", "mmproj-BF16.gguf");

    private static String pick(List<HubFile> files, String selector) throws HubException {
        return ModelFiles.select(files, selector, "r").primary().path();
    }

    @Test
    void namesParseIntoRepoRevisionAndSelector() {
        assertEquals(new ModelName("unsloth/gemma-4-26B-A4B-it-GGUF", null, "Q4_K_M"),
            ModelName.parse("unsloth/gemma-4-26B-A4B-it-GGUF:Q4_K_M").orElseThrow());
        assertEquals(new ModelName("o/r", "v1.2", "BF16/x-00001-of-00002.gguf"),
            ModelName.parse("hf:o/r@v1.2:BF16/x-00001-of-00002.gguf").orElseThrow());
        assertEquals(new ModelName("o/r", "refs/pr/3", null), ModelName.parse("o/r@refs/pr/3").orElseThrow());
        assertEquals("o/r@main:Q8_0", ModelName.parse("hf:o/r@main:Q8_0").orElseThrow().toString());
        assertTrue(ModelName.parse("o/r:Q8_0").orElseThrow().revision() == null);
        assertEquals("main", ModelName.parse("o/r").orElseThrow().revisionOrDefault());
        assertTrue(ModelName.parse("o/r:x.GGUF").orElseThrow().selectsFile());
        // paths and nonsense are not names
        for (String s : List.of("/tmp/a/b", "./a/b", "a", "a/b/c", "models/tiny.gguf", "o/r:", "o/r@", "o/../r", "o/r:../x.gguf", "o/r:a/../../x.gguf", "", "C:\\m\\x.gguf")) {
            assertTrue(ModelName.parse(s).isEmpty(), s);
        }
        assertEquals("m..Q4_K_M.gguf", ModelName.parse("o/r:m..Q4_K_M.gguf").orElseThrow().selector(), "dots inside a name are fine");
        assertTrue(ModelName.parse("o/r@a/../b").isEmpty());
        assertTrue(ModelName.parse("o/r:a//b.gguf").isEmpty());
        assertFalse(HubFile.safePath("a/../b.gguf"));
        assertFalse(HubFile.safePath("/etc/passwd"));
        assertTrue(HubFile.safePath("BF16/m..x-00001-of-00002.gguf"));
        // hf: forces the name reading even for a repository called *.gguf
        assertEquals("x/y.gguf", ModelName.parse("hf:x/y.gguf").orElseThrow().repo());
        HubException e = assertThrows(HubException.class, () -> ModelName.parseOrThrow("nonsense"));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().contains("[hf:]OWNER/REPO[@REVISION][:TAG|:FILE]"), e.getMessage());
    }

    @Test
    void aTagMatchesWholePartsCaseInsensitively() {
        assertTrue(ModelFiles.matchesTag("gemma-Q4_K_M.gguf", "Q4_K_M"));
        assertTrue(ModelFiles.matchesTag("gemma-Q4_K_M.gguf", "q4_k_m"));
        assertTrue(ModelFiles.matchesTag("gemma-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"));
        assertFalse(ModelFiles.matchesTag("gemma-UD-Q4_K_XL.gguf", "Q4_K"));
        assertFalse(ModelFiles.matchesTag("gemma-Q4_K_M.gguf", "Q4_K"));
        assertFalse(ModelFiles.matchesTag("gemma-Q4_K_M.gguf", "Q4"));
        assertFalse(ModelFiles.matchesTag("gemma-Q4_K_M.gguf", "K_M"));
        assertTrue(ModelFiles.matchesTag("BF16/gemma-BF16-00001-of-00002.gguf", "bf16"));
        assertFalse(ModelFiles.matchesTag("BF16/gemma-BF16-00001-of-00002.gguf", "00001"), "the shard suffix is not a tag");
        assertFalse(ModelFiles.matchesTag("gemma-Q4_K_M.gguf", "gguf"), "the extension is not a tag");
    }

    @Test
    void tagsExactFilesAndTheDefaultSelectModels() throws HubException {
        assertEquals("gemma-4-26B-A4B-it-Q4_K_M.gguf", pick(UNSLOTH, null));
        assertEquals("gemma-4-26B-A4B-it-Q4_K_M.gguf", pick(UNSLOTH, "q4_k_m"));
        assertEquals("gemma-4-26B-A4B-it-UD-Q4_K_XL.gguf", pick(UNSLOTH, "UD-Q4_K_XL"));
        assertEquals("gemma-4-26B-A4B-it-MXFP4_MOE.gguf", pick(UNSLOTH, "MXFP4_MOE"));
        assertEquals("gemma-4-26B-A4B-it-Q8_0.gguf", pick(UNSLOTH, "gemma-4-26B-A4B-it-Q8_0.gguf"));
        // a split model comes whole, whichever way it is named
        ModelFiles.Model bf16 = ModelFiles.select(UNSLOTH, "BF16", "r");
        assertEquals(List.of("BF16/gemma-4-26B-A4B-it-BF16-00001-of-00002.gguf", "BF16/gemma-4-26B-A4B-it-BF16-00002-of-00002.gguf"),
            bf16.files().stream().map(HubFile::path).toList());
        assertEquals(bf16, ModelFiles.select(UNSLOTH, "gemma-4-26B-A4B-it-BF16-00002-of-00002.gguf", "r"));
        assertEquals("BF16", bf16.quant());
        // mmproj files never match a tag (BF16 would otherwise be ambiguous with mmproj-BF16.gguf)
        assertEquals(20, bf16.size());
    }

    @Test
    void unknownAndAmbiguousTagsSayWhatThereIs() {
        HubException unknown = assertThrows(HubException.class, () -> pick(UNSLOTH, "Q5_K_M"));
        assertTrue(unknown.badInput());
        assertTrue(unknown.getMessage().contains("no model tagged 'Q5_K_M'"), unknown.getMessage());
        assertTrue(unknown.getMessage().contains("Q4_K_S (gemma-4-26B-A4B-it-Q4_K_S.gguf)"), unknown.getMessage());
        assertFalse(unknown.getMessage().contains("mmproj"), unknown.getMessage());

        List<HubFile> two = files("a-Q4_K_M.gguf", "b-Q4_K_M.gguf", "c-Q8_0.gguf");
        HubException ambiguous = assertThrows(HubException.class, () -> pick(two, "Q4_K_M"));
        assertTrue(ambiguous.getMessage().contains("ambiguous"), ambiguous.getMessage());
        assertTrue(ambiguous.getMessage().contains("a-Q4_K_M.gguf, b-Q4_K_M.gguf"), ambiguous.getMessage());
        assertThrows(HubException.class, () -> pick(two, null), "the default tag is ambiguous too");

        // no Q4_K_M and several models: the default is an error listing them; a single model is taken
        HubException none = assertThrows(HubException.class, () -> pick(files("x-Q8_0.gguf", "x-F16.gguf"), null));
        assertTrue(none.getMessage().contains("has no Q4_K_M model") && none.getMessage().contains("Q8_0 (x-Q8_0.gguf)"), none.getMessage());
        assertDoesNotThrowPick(files("x-Q8_0.gguf", "mmproj-x-F16.gguf"), "x-Q8_0.gguf");

        HubException noFile = assertThrows(HubException.class, () -> pick(UNSLOTH, "nope.gguf"));
        assertTrue(noFile.getMessage().contains("no file 'nope.gguf'"), noFile.getMessage());
        assertThrows(HubException.class, () -> pick(files("README.md"), null));
        assertThrows(HubException.class, () -> pick(files("mmproj-F16.gguf"), "F16"));
    }

    @Test
    void anExactQuantWinsOverALongerOneThatContainsIt() throws HubException {
        assertEquals("m-Q4_K_M.gguf", pick(files("m-Q4_K_M.gguf", "m-UD-Q4_K_M.gguf"), "Q4_K_M"));
        assertEquals("m-UD-Q4_K_M.gguf", pick(files("m-Q4_K_M.gguf", "m-UD-Q4_K_M.gguf"), "UD-Q4_K_M"));
    }

    @Test
    void incompleteSplitModelsAreNotOffered() {
        List<HubFile> partial = files("m-Q8_0-00001-of-00003.gguf", "m-Q8_0-00002-of-00003.gguf", "m-Q4_K_M.gguf");
        assertEquals(1, ModelFiles.models(partial).size());
        assertThrows(HubException.class, () -> pick(partial, "Q8_0"));
    }

    @Test
    void quantsShowInFileNames() {
        assertEquals("Q4_K_M", ModelFiles.quantOf("gemma-4-26B-A4B-it-Q4_K_M.gguf"));
        assertEquals("UD-Q4_K_XL", ModelFiles.quantOf("gemma-4-26B-A4B-it-UD-Q4_K_XL.gguf"));
        assertEquals("BF16", ModelFiles.quantOf("BF16/gemma-4-26B-A4B-it-BF16-00001-of-00002.gguf"));
        assertEquals("IQ4_XS", ModelFiles.quantOf("x-iq4_xs.gguf"));
        assertNull(ModelFiles.quantOf("model.gguf"));
    }

    @Test
    void settingsComeFromTheEnvironmentWithDefaults() {
        java.nio.file.Path home = java.nio.file.Path.of("/home/u");
        HubSettings d = HubSettings.fromEnvironment(Map.of(), home);
        assertEquals(home.resolve(".cache/gemma4j"), d.home());
        assertEquals("https://huggingface.co", d.endpoint().toString());
        assertNull(d.token());
        HubSettings s = HubSettings.fromEnvironment(Map.of("GEMMA_HOME", "/c", "HF_ENDPOINT", "http://mirror:8080", "HF_TOKEN", "hf_x"), home);
        assertEquals(java.nio.file.Path.of("/c"), s.home());
        assertEquals("http://mirror:8080", s.endpoint().toString());
        assertEquals("hf_x", s.token());
        assertFalse(s.toString().contains("hf_x"), "the token is never printed");
    }

    private static void assertDoesNotThrowPick(List<HubFile> files, String expected) {
        try {
            assertEquals(expected, pick(files, null));
        } catch (HubException e) {
            throw new AssertionError(e.getMessage());
        }
    }
}
