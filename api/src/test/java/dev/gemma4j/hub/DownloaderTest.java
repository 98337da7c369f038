package dev.gemma4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The content checks of a finished download. */
class DownloaderTest {
    @TempDir
    Path dir;

    @Test
    void aSmallNonLfsFileIsCheckedAgainstItsGitBlobId() throws Exception {
        Path part = dir.resolve("README.md.part");
        Files.writeString(part, "hello\n");
        // `echo hello | git hash-object --stdin`
        Downloader.verify(new HubFile("README.md", 6, null, "ce013625030ba8dba906f756967f9e9ca394464a"), part);
        assertTrue(Files.exists(part));
        HubException e = assertThrows(HubException.class,
            () -> Downloader.verify(new HubFile("README.md", 6, null, "ce013625030ba8dba906f756967f9e9ca3944640"), part));
        assertTrue(e.getMessage().startsWith("README.md is corrupt: its git blob id is ce013625030ba8dba906f756967f9e9ca394464a"), e.getMessage());
        assertFalse(Files.exists(part), "a part that fails its check is deleted");
    }

    @Test
    void anLfsFileIsCheckedAgainstItsSha256() throws Exception {
        Path part = dir.resolve("m.gguf.part");
        Files.writeString(part, "hello\n");
        Downloader.verify(new HubFile("m.gguf", 6, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", null), part);
        assertThrows(HubException.class, () -> Downloader.verify(new HubFile("m.gguf", 6, "00", null), part));
        assertFalse(Files.exists(part));
        assertEquals("m.gguf.part", Downloader.partOf(dir.resolve("m.gguf")).getFileName().toString());
    }
}
