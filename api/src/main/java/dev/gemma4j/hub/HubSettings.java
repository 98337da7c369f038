package dev.gemma4j.hub;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where models come from and go: the cache folder, the hub's address, the access token. Built once at
 * the CLI's edge from the environment ({@link #fromEnvironment}) and passed on as a value.
 */
public record HubSettings(Path home, URI endpoint, String token) {
    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");

    /**
     * {@code GEMMA_HOME} (default {@code ~/.cache/gemma4j}), {@code HF_ENDPOINT} (default
     * {@code https://huggingface.co}), {@code HF_TOKEN} (default none).
     */
    public static HubSettings fromEnvironment(Map<String, String> env, Path userHome) {
        String home = env.get("GEMMA_HOME");
        String endpoint = env.get("HF_ENDPOINT");
        String token = env.get("HF_TOKEN");
        return new HubSettings(
            home != null && !home.isBlank() ? Path.of(home) : userHome.resolve(".cache").resolve("gemma4j"),
            endpoint != null && !endpoint.isBlank() ? URI.create(endpoint.strip()) : DEFAULT_ENDPOINT,
            token != null && !token.isBlank() ? token.strip() : null);
    }

    @Override
    public String toString() {
        // never the token
        return "HubSettings[home=" + home + ", endpoint=" + endpoint + ", token=" + (token != null ? "set" : "unset") + "]";
    }
}
