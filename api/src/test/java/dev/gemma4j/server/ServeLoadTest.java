package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * A bounded load test on loopback: 200 greedy requests over 20 different prompts, 16 at a time, half of them
 * streamed, against 4 slots and a queue. No errors, nothing lost or mixed up: every answer is exactly the
 * answer its prompt gets alone.
 */
class ServeLoadTest {
    static final int PROMPTS = 20;
    static final int REQUESTS = 200;
    static final int CONCURRENCY = 16;

    static ObjectNode request(int i) {
        ObjectNode b = ServeApiTest.chat("Request " + i + ": " + "tell me more ".repeat(1 + i % 7), 6 + i % 5);
        return b;
    }

    @Test
    void twoHundredRequestsAtConcurrencySixteenAllGetTheirOwnAnswers() throws Exception {
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withParallel(4).withQueueSize(32), 512);
             Http http = new Http(server.uri())) {
            List<List<Integer>> alone = new ArrayList<>();
            for (int i = 0; i < PROMPTS; i++) {
                alone.add(ServeApiTest.ids(http.post("/v1/chat/completions", request(i)).json()));
            }
            ExecutorService pool = Executors.newFixedThreadPool(CONCURRENCY);
            try {
                List<Future<List<Integer>>> answers = new ArrayList<>();
                for (int k = 0; k < REQUESTS; k++) {
                    int i = k % PROMPTS;
                    boolean stream = k % 2 == 1;
                    answers.add(pool.submit(() -> {
                        ObjectNode b = request(i);
                        if (stream) {
                            return ServeApiTest.collect(http.stream("/v1/chat/completions", b.put("stream", true))).ids();
                        }
                        Http.Reply r = http.post("/v1/chat/completions", b);
                        assertEquals(200, r.status(), r.text());
                        JsonNode j = r.json();
                        return ServeApiTest.ids(j);
                    }));
                }
                for (int k = 0; k < REQUESTS; k++) {
                    assertEquals(alone.get(k % PROMPTS), answers.get(k).get(), "request " + k + " (prompt " + (k % PROMPTS) + ")");
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(0, server.state().scheduler().active() + server.state().scheduler().queued());
        }
    }
}
