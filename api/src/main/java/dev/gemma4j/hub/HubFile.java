package dev.gemma4j.hub;

/**
 * One file of a repository at a commit: its path in the repository, its size, and what its content must
 * hash to: {@code sha256} is the LFS object id (every GGUF on the hub is an LFS file), {@code gitSha1}
 * the git blob id of a small non-LFS file (null when unknown).
 */
public record HubFile(String path, long size, String sha256, String gitSha1) {
    public HubFile {
        if (!safePath(path)) {
            throw new IllegalArgumentException("unsafe file path in a repository listing: '" + path + "'");
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size for " + path);
        }
    }

    /** A relative path of plain segments: nothing that could step outside the folder it is resolved against. */
    public static boolean safePath(String path) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.contains("\\") || path.indexOf('\0') >= 0) {
            return false;
        }
        for (String seg : path.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /** The last path component. */
    public String fileName() {
        int i = path.lastIndexOf('/');
        return i < 0 ? path : path.substring(i + 1);
    }
}
