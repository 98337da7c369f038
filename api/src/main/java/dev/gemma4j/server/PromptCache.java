package dev.gemma4j.server;

import dev.gemma4j.engine.Session;
import dev.gemma4j.engine.SessionCheckpoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prompt cache (llama-server's {@code cache_prompt}, vLLM's automatic prefix caching): every slot keeps
 * the tokens its session holds after a request, a new request goes to the idle slot sharing the longest
 * prefix with its prompt, and only the rest of the prompt is evaluated.
 *
 * <p>Global layers can always go back to a shorter prefix, but Gemma 4's sliding-window layers keep only a
 * ring of the last positions, so a prefix ending more than about a window before the session's end cannot be
 * recovered from the ring ({@link Session#truncationFloor()}). For that, the sliding state is copied at the end
 * of every prompt (each chat turn) into a {@link SessionCheckpoint}, at most {@link #CHECKPOINTS_PER_SLOT} per
 * slot and {@code budgetBytes} of host memory in all, evicting the least recently used. Only the scheduler
 * thread uses it.
 */
final class PromptCache {
    private static final Logger LOG = LoggerFactory.getLogger(PromptCache.class);

    /** Checkpoints kept per slot (llama.cpp keeps a few per slot too, for the same reason). */
    static final int CHECKPOINTS_PER_SLOT = 8;
    /**
     * A slot whose cached prefix covers less than this part of a prompt is no better than any other: the
     * request takes the least recently used slot instead, so a few shared template tokens do not make a new
     * conversation evict another one's cache (llama-server's slot-prompt-similarity, 0.1 too).
     */
    static final double MIN_SIMILARITY = 0.1;

    private final boolean enabled;
    private final long budgetBytes;
    private final ServerMetrics metrics;
    private final List<Held> held = new ArrayList<>();
    private long bytes;
    private long clock;

    /** What one slot's session holds: the tokens evaluated in it, in order. */
    static final class Tokens {
        private int[] ids = new int[256];
        private int size;
        long lastUsed;

        int size() {
            return size;
        }

        void append(int[] t) {
            ensure(size + t.length);
            System.arraycopy(t, 0, ids, size, t.length);
            size += t.length;
        }

        void append(int t) {
            ensure(size + 1);
            ids[size++] = t;
        }

        void truncate(int n) {
            size = Math.min(size, n);
        }

        int commonPrefix(int[] prompt) {
            int n = Math.min(size, prompt.length);
            int i = Arrays.mismatch(ids, 0, n, prompt, 0, n);
            return i < 0 ? n : i;
        }

        private void ensure(int n) {
            if (n > ids.length) {
                ids = Arrays.copyOf(ids, Math.max(n, 2 * ids.length));
            }
        }
    }

    private static final class Held {
        final Session owner;
        final SessionCheckpoint checkpoint;
        long lastUsed;

        Held(Session owner, SessionCheckpoint checkpoint, long lastUsed) {
            this.owner = owner;
            this.checkpoint = checkpoint;
            this.lastUsed = lastUsed;
        }
    }

    PromptCache(boolean enabled, long budgetBytes, ServerMetrics metrics) {
        this.enabled = enabled;
        this.budgetBytes = budgetBytes;
        this.metrics = metrics;
    }

    boolean enabled() {
        return enabled;
    }

    long tick() {
        return ++clock;
    }

    /** How well a slot's cache serves a prompt: its common prefix, or 0 below {@link #MIN_SIMILARITY}. */
    int affinity(Tokens cached, int[] prompt, boolean allowed) {
        if (!enabled || !allowed || prompt.length == 0) {
            return 0;
        }
        int lcp = cached.commonPrefix(prompt);
        return lcp >= MIN_SIMILARITY * prompt.length ? lcp : 0;
    }

    /**
     * Brings the slot's session to the longest prefix of {@code prompt} it can reuse (truncating, or restoring a
     * checkpoint and truncating) and returns its length; 0 means the session was reset. At least one prompt
     * token is always left to evaluate, for the logits of the first generated token.
     */
    int resume(int slot, Session session, Tokens cached, int[] prompt, boolean allowed) {
        int lcp = enabled && allowed ? cached.commonPrefix(prompt) : 0;
        int had = cached.size();
        int want = Math.max(0, Math.min(lcp, prompt.length - 1));
        int kept = 0;
        String how = null;
        if (want > 0) {
            int floor = session.truncationFloor();
            if (want >= floor) {
                session.truncate(want);
                kept = want;
            } else {
                Held best = null;
                int bestAt = 0;
                for (Held h : held) {
                    if (h.owner == session && h.checkpoint.valid()) {
                        int at = Math.min(want, h.checkpoint.position());
                        if (at >= h.checkpoint.earliestPosition() && at > bestAt) {
                            best = h;
                            bestAt = at;
                        }
                    }
                }
                if (best != null) {
                    session.restore(best.checkpoint);
                    session.truncate(bestAt);
                    best.lastUsed = tick();
                    kept = bestAt;
                    if (kept < want) {
                        how = String.format("the sliding-window layers no longer hold positions before %d, so it resumes from the"
                            + " checkpoint at %d and evaluates %d tokens again", floor, best.checkpoint.position(), want - kept);
                    }
                } else {
                    how = String.format("the sliding-window layers no longer hold positions before %d and no checkpoint of "
                        + "this slot is at or before %d, so it starts over", floor, want);
                }
            }
        }
        if (kept == 0) {
            session.reset();
        }
        cached.truncate(kept);
        cached.lastUsed = tick();
        dropInvalid();
        if (how != null) {
            LOG.info("prompt cache: slot {}: the prompt's {} tokens share {} with the {} cached; {}", slot, prompt.length, lcp,
                had, how);
        } else if (!allowed && enabled) {
            LOG.debug("prompt cache: slot {}: cache_prompt is off for this request, evaluating all {} tokens", slot, prompt.length);
        } else if (enabled) {
            LOG.debug("prompt cache: slot {}: {} of {} prompt tokens reused", slot, kept, prompt.length);
        }
        if (enabled) {
            metrics.promptCache(kept, prompt.length);
        }
        return kept;
    }

    /** The slot's prompt has just been evaluated: keeps a checkpoint of its sliding state at this position. */
    void promptEvaluated(int slot, Session session) {
        if (!enabled || budgetBytes == 0) {
            return;
        }
        for (Held h : held) {
            if (h.owner == session && h.checkpoint.valid() && h.checkpoint.position() == session.position()) {
                h.lastUsed = tick();
                return;
            }
        }
        Optional<SessionCheckpoint> cp = session.checkpoint();
        if (cp.isEmpty()) {
            return;
        }
        SessionCheckpoint c = cp.get();
        if (c.bytes() > budgetBytes) {
            LOG.debug("prompt cache: slot {}: a checkpoint of {} bytes exceeds the budget of {} bytes", slot, c.bytes(), budgetBytes);
            c.close();
            return;
        }
        held.add(new Held(session, c, tick()));
        bytes += c.bytes();
        int mine = 0;
        for (Held h : held) {
            mine += h.owner == session ? 1 : 0;
        }
        while (mine > CHECKPOINTS_PER_SLOT) {
            evict(oldest(session));
            mine--;
        }
        while (bytes > budgetBytes) {
            evict(oldest(null));
        }
        publish();
    }

    /** The session's state is unknown (an engine failure): its checkpoints go. */
    void forget(Session session, Tokens cached) {
        cached.truncate(0);
        for (Held h : List.copyOf(held)) {
            if (h.owner == session) {
                release(h);
            }
        }
        publish();
    }

    /** Frees every checkpoint (shutdown). */
    void close() {
        for (Held h : List.copyOf(held)) {
            release(h);
        }
        publish();
    }

    private Held oldest(Session owner) {
        Held o = null;
        for (Held h : held) {
            if ((owner == null || h.owner == owner) && (o == null || h.lastUsed < o.lastUsed)) {
                o = h;
            }
        }
        return o;
    }

    private void evict(Held h) {
        LOG.debug("prompt cache: evicting the checkpoint at {} ({} bytes)", h.checkpoint.position(), h.checkpoint.bytes());
        release(h);
        metrics.promptCacheEviction();
    }

    private void release(Held h) {
        held.remove(h);
        bytes -= h.checkpoint.bytes();
        h.checkpoint.close();
    }

    /** Checkpoints beyond where their session went back no longer match it. */
    private void dropInvalid() {
        for (Held h : List.copyOf(held)) {
            if (!h.checkpoint.valid()) {
                release(h);
            }
        }
        publish();
    }

    private void publish() {
        metrics.promptCacheMemory(bytes, held.size());
    }

    long bytes() {
        return bytes;
    }
}
