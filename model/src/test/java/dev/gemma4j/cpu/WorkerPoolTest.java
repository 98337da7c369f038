package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine's pool: every index of a region runs exactly once, whatever the thread count and however uneven the
 * tasks; a worker that is slow or busy does not lose its share (the others take it from the far end); a failing
 * task's exception reaches the caller and the pool stays usable.
 */
class WorkerPoolTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void everyIndexRunsExactlyOnce(int threads) {
        try (WorkerPool pool = new WorkerPool(threads)) {
            for (int n : new int[] {1, 2, 3, 5, 7, 64, 97, 1000}) {
                for (int round = 0; round < 20; round++) {
                    AtomicIntegerArray runs = new AtomicIntegerArray(n);
                    AtomicIntegerArray byWorker = new AtomicIntegerArray(threads);
                    pool.forEach(n, (i, w) -> {
                        runs.incrementAndGet(i);
                        byWorker.incrementAndGet(w);
                    });
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, runs.get(i), "index " + i + " of " + n + " with " + threads + " threads");
                    }
                    int total = 0;
                    for (int w = 0; w < threads; w++) {
                        total += byWorker.get(w);
                    }
                    assertEquals(n, total);
                }
            }
        }
    }

    /**
     * Each worker runs a contiguous share of the indices in order (decoding's tasks are blocks of weight rows: a core
     * reading one long stretch streams far faster than two cores taking alternate blocks).
     */
    @Test
    void workersRunContiguousSharesInOrder() {
        try (WorkerPool pool = new WorkerPool(2)) {
            for (int k = 0; k < 50; k++) {
                pool.forEach(64, (i, w) -> { });
            }
            int n = 40;
            int[][] order = new int[2][n];
            int[] count = new int[2];
            pool.forEach(n, (i, w) -> {
                order[w][count[w]++] = i;
                sleep(1);
            });
            assertEquals(n, count[0] + count[1]);
            assertTrue(count[1] > 0, "the worker took no task");
            // the caller starts at 0, the worker at n/2, each going up one by one through its own share
            assertEquals(0, order[0][0]);
            assertEquals(n / 2, order[1][0]);
            for (int w = 0; w < 2; w++) {
                for (int j = 1; j < count[w] && order[w][j] < (w + 1) * n / 2 && order[w][j] >= w * n / 2; j++) {
                    assertEquals(order[w][j - 1] + 1, order[w][j], "worker " + w + "'s share out of order");
                }
            }
        }
    }

    /** The caller's own share is slow: the worker finishes its share, then takes the caller's last tasks. */
    @Test
    void aSlowShareIsTakenOverFromItsEnd() {
        try (WorkerPool pool = new WorkerPool(2)) {
            int n = 40;
            AtomicIntegerArray ranBy = new AtomicIntegerArray(n);
            // warm the worker up so that it joins the region below promptly
            for (int k = 0; k < 50; k++) {
                pool.forEach(64, (i, w) -> { });
            }
            pool.forEach(n, (i, w) -> {
                ranBy.set(i, w + 1);
                if (w == 0) {
                    sleep(5);
                }
            });
            int stolen = 0;
            for (int i = 0; i < n / 2; i++) {
                if (ranBy.get(i) == 2) {
                    stolen++;
                    // taken from the far end: every index after a stolen one in the caller's share is stolen too
                    for (int j = i; j < n / 2; j++) {
                        assertEquals(2, ranBy.get(j), "index " + j + " after stolen index " + i);
                    }
                    break;
                }
            }
            assertTrue(stolen > 0, "the worker took none of the slow caller's tasks");
            for (int i = n / 2; i < n; i++) {
                assertEquals(2, ranBy.get(i), "the worker's own share, index " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void aFailingTaskReachesTheCallerAndThePoolStaysUsable(int threads) {
        try (WorkerPool pool = new WorkerPool(threads)) {
            IllegalStateException boom = new IllegalStateException("boom");
            for (int failing : new int[] {0, 13, 99}) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.forEach(100, (i, w) -> {
                    if (i == failing) {
                        throw boom;
                    }
                }));
                assertSame(boom, e);
            }
            AtomicIntegerArray runs = new AtomicIntegerArray(100);
            pool.forEach(100, (i, w) -> runs.incrementAndGet(i));
            for (int i = 0; i < 100; i++) {
                assertEquals(1, runs.get(i));
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
