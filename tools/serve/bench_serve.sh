#!/usr/bin/env bash
# Serving throughput of `gemma serve` and llama-server side by side on one model file, same machine, same
# run: for each concurrency, tools/serve/loadgen.py sends streamed /v1/completions requests (random
# 128-token prompts, fixed-length answers) and reports aggregate generated tokens/s and time to first token.
#   tools/serve/bench_serve.sh MODEL [THREADS] [MAX_TOKENS] [CONCURRENCIES...]
# e.g. tools/serve/bench_serve.sh /work/models/quarter-q4km.gguf 2 128 1 4 16
# LOADGEN_ARGS adds loadgen.py options (e.g. --vocab-range 1000,8000 for a small vocabulary).
# Both servers get 4 slots (--parallel 4 / -np 4) of 1024 tokens each; requests per run = max(2, concurrency).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
model="$1"; threads="${2:-2}"; max_tokens="${3:-128}"; shift $(( $# < 3 ? $# : 3 ))
concurrencies=("$@"); [ ${#concurrencies[@]} -gt 0 ] || concurrencies=(1 4 16)
llama="${LLAMA_SERVER:-/work/ref/llama.cpp/build/bin/llama-server}"
port=18123
pid=""
stop() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap stop EXIT
ready() { for _ in $(seq 1 1200); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0; sleep 0.5; done; return 1; }
load() {
  # one unmeasured request first: the JVM compiles its kernels on the first tokens
  python3 "$here/loadgen.py" --url "http://127.0.0.1:$port" --concurrency 1 --requests 1 --prompt-tokens 128 \
    --max-tokens 16 ${LOADGEN_ARGS:-} >/dev/null
  for c in "${concurrencies[@]}"; do
    n=$(( c > 2 ? c : 2 ))
    echo "{\"server\": \"$1\", \"result\": $(python3 "$here/loadgen.py" --url "http://127.0.0.1:$port" --concurrency "$c" \
      --requests "$n" --prompt-tokens 128 --max-tokens "$max_tokens" ${LOADGEN_ARGS:-})}"
  done
}
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), model $model, $threads threads" >&2
"$root/gemma" serve -m "$model" --port "$port" -t "$threads" --ctx 1024 --parallel 4 >/dev/null 2>&1 &
pid=$!
ready
load gemma
stop
"$llama" -m "$model" --host 127.0.0.1 --port "$port" -t "$threads" -c 4096 -np 4 --no-webui >/dev/null 2>&1 &
pid=$!
ready
load llama-server
stop
