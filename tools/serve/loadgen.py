#!/usr/bin/env python3
"""Load generator for an OpenAI-compatible server (gemma serve or llama-server), for docs/benchmarks.md.

Sends `--requests` streamed /v1/completions requests, `--concurrency` at a time, each a prompt of
`--prompt-tokens` random token ids (seeded, the same for both servers) and `--max-tokens` generated tokens
(end-of-generation tokens banned with logit_bias so every answer has the full length). Prints one JSON
line: aggregate generated tokens/s (wall clock of the whole run), median and p90 time to first token, and
the inter-token latency p50/p99 over all streams. Only the standard library.
"""
import argparse, json, random, statistics, threading, time, urllib.request


def one(url, prompt, max_tokens, ban, out, lock):
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "logit_bias": {str(i): -100 for i in ban}}
    req = urllib.request.Request(url + "/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    first, last, gaps, chunks = None, None, [], 0
    with urllib.request.urlopen(req, timeout=3600) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            d = json.loads(line[5:])
            ch = d.get("choices") or []
            if not ch or not ch[0].get("text"):
                continue
            now = time.perf_counter()
            if first is None:
                first = now
            else:
                gaps.append(now - last)
            last = now
            chunks += 1
    with lock:
        out.append({"ttft": first - t0 if first else None, "gaps": gaps, "chunks": chunks, "end": time.perf_counter()})


def interference(a, ban, rnd, lo, hi):
    """ITL of a running stream while a long prompt (--interfere N tokens) is read next to it."""
    gaps, marks = [], {}
    started = threading.Event()

    def runner():
        body = {"prompt": [2] + [rnd.randrange(lo, hi) for _ in range(31)], "max_tokens": a.max_tokens, "temperature": 0,
                "stream": True, "logit_bias": {str(i): -100 for i in ban}}
        req = urllib.request.Request(a.url + "/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
        last, n = None, 0
        with urllib.request.urlopen(req, timeout=3600) as r:
            for raw in r:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:") or line == "data: [DONE]":
                    continue
                ch = json.loads(line[5:]).get("choices") or []
                if not ch or not ch[0].get("text"):
                    continue
                now = time.perf_counter()
                if last is not None:
                    gaps.append((last, now))
                last = now
                n += 1
                if n == 5:
                    started.set()

    t = threading.Thread(target=runner)
    t.start()
    started.wait()
    long_prompt = [2] + [rnd.randrange(lo, hi) for _ in range(a.interfere - 1)]
    marks["sent"] = time.perf_counter()
    body = {"prompt": long_prompt, "max_tokens": 1, "temperature": 0}
    req = urllib.request.Request(a.url + "/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=3600).read()
    marks["answered"] = time.perf_counter()
    t.join()
    during = sorted(b - x for x, b in gaps if b > marks["sent"] and x < marks["answered"])
    other = sorted(b - x for x, b in gaps if not (b > marks["sent"] and x < marks["answered"]))
    pct = lambda xs, q: round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None
    print(json.dumps({"interfere_prompt_tokens": a.interfere, "long_prompt_s": round(marks["answered"] - marks["sent"], 2),
                      "itl_during_p50_ms": pct(during, 0.5), "itl_during_p99_ms": pct(during, 0.99), "gaps_during": len(during),
                      "itl_other_p50_ms": pct(other, 0.5), "itl_other_p99_ms": pct(other, 0.99)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--requests", type=int, default=4)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--vocab-range", default="1000,20000", help="token ids of the random prompts (lo,hi)")
    ap.add_argument("--ban", default="1,50,106", help="end-of-generation token ids to ban")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--interfere", type=int, default=0,
                    help="instead: one stream of --max-tokens, and after its 5th token a prompt of this many tokens")
    a = ap.parse_args()
    lo, hi = map(int, a.vocab_range.split(","))
    ban = [int(x) for x in a.ban.split(",") if x]
    rnd = random.Random(a.seed)
    if a.interfere:
        interference(a, ban, rnd, lo, hi)
        return
    prompts = [[2] + [rnd.randrange(lo, hi) for _ in range(a.prompt_tokens - 1)] for _ in range(a.requests)]
    out, lock, sem = [], threading.Lock(), threading.Semaphore(a.concurrency)
    threads = []
    t0 = time.perf_counter()

    def run(p):
        try:
            one(a.url, p, a.max_tokens, ban, out, lock)
        finally:
            sem.release()

    for p in prompts:
        sem.acquire()
        t = threading.Thread(target=run, args=(p,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    # tokens = streamed text chunks (one per token on both servers, except pieces held back mid-character)
    tokens = sum(o["chunks"] for o in out)
    gaps = sorted(g for o in out for g in o["gaps"])
    ttfts = sorted(o["ttft"] for o in out if o["ttft"] is not None)
    pct = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None
    print(json.dumps({"concurrency": a.concurrency, "requests": a.requests, "prompt_tokens": a.prompt_tokens,
                      "max_tokens": a.max_tokens, "wall_s": round(wall, 2), "tokens": tokens,
                      "tokens_per_s": round(tokens / wall, 2), "ttft_median_s": round(statistics.median(ttfts), 3),
                      "ttft_p90_s": round(pct(ttfts, 0.9), 3),
                      "itl_p50_ms": round(1000 * pct(gaps, 0.5), 1) if gaps else None,
                      "itl_p99_ms": round(1000 * pct(gaps, 0.99), 1) if gaps else None}))


if __name__ == "__main__":
    main()
