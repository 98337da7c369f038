package dev.gemma4j.hub;

/**
 * One file of a repository at a commit: its path in the repository, its size, and what its content must
 * hash to: {@code sha256} is the LFS object id (every GGUF on the hub is an LFS file), {@code gitSha1}
 * the git blob id of a small non-LFS file (null when unknown).
 */
public record HubFile(String path, long size, String sha256, String gitSha1) {
    public HubFile {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.contains("..") || path.contains("\\")) {
            throw new IllegalArgumentException("unsafe file path in a repository listing: '" + path + "'");
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size for " + path);
        }
    }

    /** The last path component. */
    public String fileName() {
        int i = path.lastIndexOf('/');
        return i < 0 ? path : path.substring(i + 1);
    }
}
