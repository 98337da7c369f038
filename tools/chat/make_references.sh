#!/usr/bin/env bash
# Records llama.cpp's renderings of chat conversations: each request body NAME.json is posted to
# llama-server's /apply-template (llama.cpp 80fb11a, --jinja) and the answer saved as NAME.txt (the prompt
# text, byte for byte) or NAME.resp (status and body of a refusal).
#
# usage: tools/chat/make_references.sh MODEL.gguf [official|initial]
#   official (default): the official Gemma 4 template; renders model/src/test/resources/chat/references/*.json
#   initial: the initial template revision (from llama.cpp's models/ggml-vocab-gemma-4.gguf); copies the
#            requests of chat-edge/ and references/ into references-initial/ and renders them there.
#   MODEL.gguf: any small gemma4 GGUF llama-server can load (e.g. one written by `./gemma synth`); its own
#   embedded template is ignored (--chat-template-file), only its gemma4 vocabulary matters (BOS text).
# env: LLAMA_SERVER (default /work/ref/llama.cpp/build/bin/llama-server), PORT (default 18089).
# The server listens on 127.0.0.1 only and is stopped on exit. Needs curl and python3.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
model="${1:?usage: make_references.sh MODEL.gguf}"
server="${LLAMA_SERVER:-/work/ref/llama.cpp/build/bin/llama-server}"
port="${PORT:-18089}"
mode="${2:-official}"
res="$repo/model/src/test/resources/chat"
case "$mode" in
  official) template="$res/templates/google-gemma-4-31B-it.jinja"; refs="$res/references" ;;
  initial)
    template="$res/templates/gemma-4-initial-from-ggml-vocab-gemma-4.jinja"; refs="$res/references-initial"
    mkdir -p "$refs"
    rm -f "$refs"/*.json "$refs"/*.txt "$refs"/*.resp
    cp "$res"/chat-edge/*.json "$res"/references/*.json "$refs"/ ;;
  *) echo "mode must be official or initial" >&2; exit 2 ;;
esac
log="$(mktemp)"

"$server" -m "$model" --jinja --chat-template-file "$template" --host 127.0.0.1 --port "$port" \
  -c 1024 -np 1 -t 1 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "llama-server exited:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || { echo "llama-server did not become ready" >&2; cat "$log" >&2; exit 1; }

n=0
for req in "$refs"/*.json; do
  name="${req%.json}"
  body="$(mktemp)"
  status="$(curl -s -o "$body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$req" "http://127.0.0.1:$port/apply-template")"
  rm -f "$name.txt" "$name.resp"
  if [ "$status" = "200" ]; then
    # the prompt text exactly, no trailing newline added
    python3 -c 'import json,sys; sys.stdout.buffer.write(json.load(open(sys.argv[1], encoding="utf-8"))["prompt"].encode("utf-8"))' \
      "$body" >"$name.txt"
  else
    { echo "$status"; cat "$body"; } >"$name.resp"
  fi
  rm -f "$body"
  n=$((n + 1))
done
echo "recorded $n conversations in $refs" >&2
