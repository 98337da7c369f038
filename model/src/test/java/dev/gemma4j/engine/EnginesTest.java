package dev.gemma4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.cpu.CpuEngine;
import dev.gemma4j.cpu.TinyGemma4;
import dev.gemma4j.gguf.GgufFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine factory: profiles are read from files, the backend they name is found through ServiceLoader. */
class EnginesTest {
    @TempDir
    Path dir;

    @Test
    void theRepositoryProfilesLoadAndCpuOpensTheCpuEngine() throws Exception {
        Path profiles = Path.of("..", "profiles");
        Profile cpu = Profile.load(profiles, "cpu");
        assertEquals("cpu", cpu.backend());
        for (String name : new String[] {"opencl", "ptx", "spirv"}) {
            Profile p = Profile.load(profiles, name);
            assertEquals("tornado", p.backend(), name);
            assertEquals(name, p.get("tornado.backend"), name);
            assertEquals("0:0", p.get(Profile.DEVICE), name);
        }
        Path f = dir.resolve("tiny.gguf");
        TinyGemma4.standard().write(f);
        try (GgufFile g = GgufFile.open(f); Engine e = Engines.open(g, EngineOptions.defaults().withContextLength(16), cpu)) {
            assertTrue(e instanceof CpuEngine, e.getClass().getName());
        }
    }

    @Test
    void aMissingBackendOrProfileIsAClearError() throws Exception {
        Profile tornado = new Profile("opencl", Map.of(Profile.BACKEND, "tornado"));
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Engines.provider(tornado));
        assertTrue(ex.getMessage().contains("'tornado' backend") && ex.getMessage().contains("available: cpu"), ex.getMessage());
        Files.writeString(dir.resolve("mine.properties"), "backend = cpu\n# a comment\ndevice: 1:2\nwg = 64\n");
        ex = assertThrows(IllegalArgumentException.class, () -> Profile.load(dir, "nope"));
        assertTrue(ex.getMessage().contains("profiles there: mine"), ex.getMessage());
        Profile mine = Profile.load(dir, "mine");
        assertEquals("1:2", mine.get(Profile.DEVICE));
        assertEquals(64, mine.getInt("wg", 0));
        assertEquals("0:1", mine.with(Profile.DEVICE, "0:1").get(Profile.DEVICE));
        assertThrows(IllegalArgumentException.class, () -> mine.with("wg", "x").getInt("wg", 0));
        assertThrows(IllegalArgumentException.class, () -> Profile.load(dir, "../etc/passwd"));
    }
}
