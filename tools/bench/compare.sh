#!/usr/bin/env bash
# Side-by-side speed of gemma4j's CPU engine and llama.cpp on one GGUF, measured the same way:
# pp = one batch of P prompt tokens, tg = N single-token steps, repeated R times, T threads.
# Runs `./gemma bench` and then llama.cpp's `llama-bench` (one after the other, never together) and
# prints both and the ratio gemma4j / llama.cpp.
#
# usage: tools/bench/compare.sh MODEL.gguf [-p 512] [-n 128] [-t 2] [-r 3] [--no-mmap]
# --no-mmap: both engines copy the weights into their own memory first (gemma --no-mmap, llama-bench -lm none)
# instead of reading the mapped file (the default of both).
# LLAMA_BENCH: path of llama-bench (default /work/ref/llama.cpp/build/bin/llama-bench; build llama.cpp with
# -mno-amx-tile -mno-amx-int8 -mno-amx-bf16 on CPUs whose AMX kernels crash).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
model="$1"; shift
p=512; n=128; t=2; r=3; ours_mmap=(); theirs_mmap=()
while [ $# -gt 0 ]; do
  case "$1" in
    -p) p="$2"; shift 2;; -n) n="$2"; shift 2;; -t) t="$2"; shift 2;; -r) r="$2"; shift 2;;
    --no-mmap) ours_mmap=(--no-mmap); theirs_mmap=(-lm none); shift;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
llama_bench="${LLAMA_BENCH:-/work/ref/llama.cpp/build/bin/llama-bench}"
ours=$("$here/gemma" bench -m "$model" -p "$p" -n "$n" -t "$t" -r "$r" "${ours_mmap[@]}" --json)
theirs=$("$llama_bench" -m "$model" -p "$p" -n "$n" -t "$t" -r "$r" "${theirs_mmap[@]}" -o json)
python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours = json.loads(sys.argv[1]); theirs = json.loads(sys.argv[2])
def llama(kind):
    for t in theirs:
        if kind == "pp" and t["n_prompt"] > 0 and t["n_gen"] == 0: return t["avg_ts"], t["stddev_ts"]
        if kind == "tg" and t["n_gen"] > 0 and t["n_prompt"] == 0: return t["avg_ts"], t["stddev_ts"]
    return None
print(f"{'test':8} {'gemma4j tok/s':>18} {'llama.cpp tok/s':>18} {'ratio':>7}")
for kind, size in (("pp", ours["pp"]), ("tg", ours["tg"])):
    if not size: continue
    o = (ours[f"{kind}_tokens_per_s"], ours[f"{kind}_stddev"]); l = llama(kind)
    print(f"{kind}{size:<6} {o[0]:>10.2f} ± {o[1]:<5.2f} {l[0]:>10.2f} ± {l[1]:<5.2f} {o[0] / l[0]:>7.2f}")
for kind in ("pp", "tg"):
    runs = [r["tokens_per_s"] for r in ours.get("runs", []) if r["test"] == kind]
    if runs:
        print(f"gemma4j {kind} runs: " + ", ".join(f"{x:.2f}" for x in runs))
if ours.get("tg") and "weight_bytes_per_token" in ours:
    b = ours["weight_bytes_per_token"]
    print(f"weights per token {b / 1e6:.1f} MB: gemma4j {ours['tg_tokens_per_s'] * b / 1e9:.2f} GB/s, "
          f"llama.cpp {llama('tg')[0] * b / 1e9:.2f} GB/s")
PY
