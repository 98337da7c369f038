package dev.gemma4j.hub;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * An exclusive lock on a {@code .lock} file next to what it guards, held between processes (an OS file
 * lock) and between threads of one JVM. The OS lock belongs to the process, and on Linux closing any
 * channel of the file drops every lock the process has on it, so threads must not even open the file
 * while another thread holds it: a process-wide table of semaphores, one per lock file, admits one
 * thread at a time before the OS lock is tried. That table is the one piece of shared state here, and
 * it is shared because the OS lock it stands in front of is. Waiting is polling, with one note to the
 * person. Lock files stay in place; deleting one while another pull waits on it would let two pulls
 * hold "the" lock at once.
 */
final class FileLocks {
    private static final long POLL_MILLIS = 100;

    private static final ConcurrentHashMap<Path, Semaphore> IN_PROCESS = new ConcurrentHashMap<>();

    private FileLocks() {
    }

    /** A held lock; closing it releases the lock. */
    static final class Held implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock lock;
        private final Semaphore gate;

        private Held(FileChannel channel, FileLock lock, Semaphore gate) {
            this.channel = channel;
            this.lock = lock;
            this.gate = gate;
        }

        @Override
        public void close() throws IOException {
            try {
                lock.release();
            } finally {
                try {
                    channel.close();
                } finally {
                    gate.release();
                }
            }
        }
    }

    /** Takes the lock {@code lockFile}, calling {@code onWait} once if someone else holds it. */
    static Held acquire(Path lockFile, Runnable onWait) throws IOException {
        Files.createDirectories(lockFile.getParent());
        Semaphore gate = IN_PROCESS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), k -> new Semaphore(1));
        boolean[] told = {false};
        Runnable waiting = () -> {
            if (!told[0]) {
                told[0] = true;
                onWait.run();
            }
        };
        while (!gate.tryAcquire()) {
            waiting.run();
            pause(lockFile);
        }
        try {
            while (true) {
                FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock;
                try {
                    lock = ch.tryLock();
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
                if (lock != null) {
                    return new Held(ch, lock, gate);
                }
                ch.close(); // another process holds it; this process held none, so closing drops nothing
                waiting.run();
                pause(lockFile);
            }
        } catch (IOException | RuntimeException e) {
            gate.release();
            throw e;
        }
    }

    private static void pause(Path lockFile) throws IOException {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for " + lockFile);
        }
    }
}
