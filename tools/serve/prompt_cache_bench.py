#!/usr/bin/env python3
"""Prompt-cache benchmark for docs/benchmarks.md: `gemma serve` and llama-server side by side on one model file.

A conversation opens with a document (--doc-words words, about that many tokens) and a question, then asks two
short follow-up questions; each turn is a streamed /v1/chat/completions request (greedy, logprobs on, so every
token makes a chunk) and the time to first token is measured at the client. The follow-ups should cost only
their new tokens. The second scenario interleaves a second conversation (another document) between the turns,
with two slots on each server (both conversations should stay cached). Prints one JSON line per turn and a
Markdown table; the lines of our server's log that mention the prompt cache are printed too.
Only the standard library.

  tools/serve/prompt_cache_bench.py --model /work/models/quarter-q4km.gguf --doc-words 300
"""
import argparse, json, os, random, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORDS = ("river stone light garden north window paper silver market winter engine forest harbor letter mountain "
         "orange planet quiet signal table bridge candle desert feather island lantern meadow needle ocean pepper "
         "rabbit saddle thunder valley whistle yellow anchor basket cotton dragon").split()
QUESTIONS = ["Which three words appear most often in the document above?",
             "Which word comes first?",
             "Answer in one word: is it about rivers?"]


def document(seed, n):
    r = random.Random(seed)
    out = []
    for i in range(n):
        w = r.choice(WORDS)
        out.append(w.capitalize() if i % 12 == 0 else w)
        if i % 12 == 11:
            out[-1] += "."
    return " ".join(out) + "."


def turn(url, messages, max_tokens):
    body = {"messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True, "logprobs": True,
            "stream_options": {"include_usage": True}}
    req = urllib.request.Request(url + "/v1/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    first, usage, timings, content = None, None, None, []
    with urllib.request.urlopen(req, timeout=7200) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            d = json.loads(line[5:])
            if d.get("error"):
                raise SystemExit(f"the server answered an error: {d['error']}")
            if d.get("usage"):
                usage = d["usage"]
            if d.get("timings"):
                timings = d["timings"]
            for c in d.get("choices") or []:
                delta = c.get("delta") or {}
                lp = (c.get("logprobs") or {}).get("content")
                if first is None and (lp or delta.get("content") or delta.get("reasoning_content") or c.get("finish_reason")):
                    first = time.perf_counter()
                if delta.get("content"):
                    content.append(delta["content"])
    return {"ttft_s": round(first - t0, 3) if first else None, "prompt_tokens": (usage or {}).get("prompt_tokens"),
            "cached_tokens": ((usage or {}).get("prompt_tokens_details") or {}).get("cached_tokens"),
            "llama_timings": {k: timings[k] for k in ("cache_n", "prompt_n", "prompt_ms") if k in timings} if timings else None,
            "answer": "".join(content)}


def conversation_turns(url, docs, max_tokens, interleaved):
    """Runs the turns; with two documents the conversations alternate (A1 B1 A2 B2 A3 B3)."""
    history = {k: [] for k in range(len(docs))}
    results = []
    for t, q in enumerate(QUESTIONS):
        for k, doc in enumerate(docs):
            msgs = history[k]
            msgs.append({"role": "user", "content": (doc + "\n\n" + q) if t == 0 else q})
            r = turn(url, msgs, max_tokens)
            msgs.append({"role": "assistant", "content": r.pop("answer")})
            r.update({"conversation": "AB"[k], "turn": t + 1})
            results.append(r)
    return results


def wait_ready(url, proc, seconds=1800):
    for _ in range(seconds * 2):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.5)
    raise SystemExit("server not ready")


def run_server(name, cmd, port, a, log):
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, p)
        # one unmeasured request, long enough for whole prompt batches: the JVM compiles its kernels on the first
        # batches, which would otherwise count in the first turn's time (both servers get it)
        turn(url, [{"role": "user", "content": document(99, 40)}], 2)
        out = []
        for scenario, docs in (("one", [document(1, a.doc_words)]),
                               ("interleaved", [document(2, a.doc_words), document(3, a.doc_words)])):
            if scenario not in a.scenarios:
                continue
            for r in conversation_turns(url, docs, a.max_tokens, scenario == "interleaved"):
                r.update({"server": name, "scenario": scenario})
                print(json.dumps(r), flush=True)
                out.append(r)
        return out
    finally:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--doc-words", type=int, default=300)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--ctx", type=int, default=4096, help="tokens per slot (both servers get 2 slots)")
    ap.add_argument("--servers", default="gemma,llama-server")
    ap.add_argument("--scenarios", default="one,interleaved")
    ap.add_argument("--llama-server", default=os.environ.get("LLAMA_SERVER", "/work/ref/llama.cpp/build/bin/llama-server"))
    ap.add_argument("--port", type=int, default=18131)
    ap.add_argument("--log-dir", default="/tmp")
    a = ap.parse_args()
    load = open("/proc/loadavg").read().split()[:3]
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cores, load average {' '.join(load)}, "
          f"model {a.model}, {a.threads} threads, document {a.doc_words} words", file=sys.stderr, flush=True)
    results = []
    for name in a.servers.split(","):
        log = os.path.join(a.log_dir, f"prompt-cache-{name}.log")
        if name == "gemma":
            cmd = [os.path.join(ROOT, "gemma"), "serve", "--model", a.model, "--port", str(a.port), "--parallel", "2",
                   "--ctx-size", str(a.ctx), "--threads", str(a.threads)]
        else:
            cmd = [a.llama_server, "-m", a.model, "--host", "127.0.0.1", "--port", str(a.port), "-np", "2",
                   "-c", str(2 * a.ctx), "-t", str(a.threads), "--no-webui"]
        results += run_server(name, cmd, a.port, a, log)
        if name == "gemma":
            with open(log) as f:
                for line in f:
                    if "prompt cache" in line:
                        print("# gemma log: " + line.strip(), file=sys.stderr)
    print(f"# load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}", file=sys.stderr)
    print("\n| server | scenario | conv | turn | prompt tokens | cached | TTFT s | TTFT / turn 1 |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    first = {}
    for r in results:
        key = (r["server"], r["scenario"], r["conversation"])
        if r["turn"] == 1:
            first[key] = r["ttft_s"]
        ratio = f"{r['ttft_s'] / first[key]:.0%}" if first.get(key) and r["ttft_s"] else "-"
        ttft = f"{r['ttft_s']:.2f}" if r["ttft_s"] else "-"
        print(f"| {r['server']} | {r['scenario']} | {r['conversation']} | {r['turn']} | {r['prompt_tokens']} | "
              f"{r['cached_tokens']} | {ttft} | {ratio} |")


if __name__ == "__main__":
    main()
