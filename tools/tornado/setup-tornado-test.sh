#!/usr/bin/env bash
# Tests setup-tornado.sh without the internet: its download mode against a local HTTP server (127.0.0.1)
# serving a fake archive laid out like a TornadoVM release, its checks (checksum, backend, version), and
# --sdk mode. Everything it writes goes to a temporary HOME. Prints "setup-tornado tests: N passed".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
server=""
cleanup() {
  [ -z "$server" ] || kill "$server" 2> /dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
major="$("$JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)"
flavour="5.2.0-jdk$major"
passed=0
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# a fake release: the layout of tornadovm-<flavour>-opencl-linux-amd64.zip (jars are empty stand-ins; the
# local Maven repository is pointed elsewhere so nothing is installed from them unless asked)
rel="$tmp/release"
sdkname="tornadovm-$flavour-opencl"
mkdir -p "$rel/$sdkname/share/java/tornado" "$rel/$sdkname/etc" "$rel/$sdkname/bin"
touch "$rel/$sdkname/share/java/tornado/tornado-api-$flavour.jar" "$rel/$sdkname/share/java/tornado/tornado-runtime-$flavour.jar"
echo "tornado.backends=opencl-backend" > "$rel/$sdkname/etc/tornado.backend"
printf -- '--module-path .:${TORNADOVM_HOME}/share/java/tornado\n' > "$rel/$sdkname/tornado-argfile.template"
printf '#!/bin/sh\necho "Tornado device=0:0 (fake release, TORNADOVM_HOME=$TORNADOVM_HOME)"\n' > "$rel/$sdkname/bin/tornado"
chmod +x "$rel/$sdkname/bin/tornado"
serve="$tmp/serve/download"
mkdir -p "$serve"
(cd "$rel" && python3 -c "import shutil; shutil.make_archive('$serve/tornadovm-$flavour-opencl-linux-amd64', 'zip', '.', '$sdkname')")
(cd "$serve" && sha256sum "tornadovm-$flavour-opencl-linux-amd64.zip" > "tornadovm-$flavour-opencl-linux-amd64.zip.sha256")
port=$((20000 + RANDOM % 20000))
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/serve" > "$tmp/http.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" > /dev/null 2>&1 && break; sleep 0.1; done

# fake jars must not reach the real repository: a repository that already has the real ones (skip) ...
mrepo="$tmp/m2"
mkdir -p "$mrepo/io/github/beehive-lab/tornado-api/$flavour" "$mrepo/io/github/beehive-lab/tornado-runtime/$flavour"
touch "$mrepo/io/github/beehive-lab/tornado-api/$flavour/tornado-api-$flavour.jar" "$mrepo/io/github/beehive-lab/tornado-runtime/$flavour/tornado-runtime-$flavour.jar"
run() {
  HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_DATA_HOME="$tmp/home/.local/share" MAVEN_REPO="$mrepo" \
    TORNADOVM_RELEASE_BASE="http://127.0.0.1:$port/download" "$root/setup-tornado.sh" "$@"
}

# 1. download mode: fetched, checksum verified, unpacked, argfile expanded, registered, devices listed
out="$(run opencl 2>&1)" || fail "download mode: $out"
env="$tmp/home/.config/gemma4j/tornado.env"
grep -q "^TORNADOVM_HOME=$tmp/home/.local/share/gemma4j/$sdkname$" "$env" || fail "registration: $(cat "$env")"
grep -q "^TORNADOVM_BACKEND=opencl$" "$env" || fail "backend not recorded"
grep -q "$tmp/home/.local/share/gemma4j/$sdkname/share/java/tornado" "$tmp/home/.local/share/gemma4j/$sdkname/tornado-argfile" || fail "argfile not expanded"
echo "$out" | grep -q "checksum ok" || fail "checksum not checked: $out"
echo "$out" | grep -q "Tornado device=0:0" || fail "devices not listed: $out"
passed=$((passed + 1))

# 2. a backend the archive does not have: no such release file here, so the download fails with exit 2
set +e
out="$(run ptx 2>&1)"
rc=$?
set -e
[ $rc -eq 2 ] || fail "missing ptx archive: rc $rc: $out"
passed=$((passed + 1))

# 3. a corrupted download fails its checksum
cp "$serve/tornadovm-$flavour-opencl-linux-amd64.zip.sha256" "$tmp/good.sha256"
echo "0000000000000000000000000000000000000000000000000000000000000000  x.zip" > "$serve/tornadovm-$flavour-opencl-linux-amd64.zip.sha256"
set +e
out="$(run opencl 2>&1)"
rc=$?
set -e
[ $rc -eq 2 ] && echo "$out" | grep -q "checksum mismatch" || fail "bad checksum accepted: rc $rc: $out"
cp "$tmp/good.sha256" "$serve/tornadovm-$flavour-opencl-linux-amd64.zip.sha256"
passed=$((passed + 1))

# 4. --sdk with the wrong backend, and with the wrong version
set +e
out="$(run spirv --sdk "$tmp/home/.local/share/gemma4j/$sdkname" 2>&1)"
rc=$?
set -e
[ $rc -eq 2 ] && echo "$out" | grep -q "not spirv" || fail "wrong backend accepted: rc $rc: $out"
cp -r "$rel/$sdkname" "$tmp/old"
mv "$tmp/old/share/java/tornado/tornado-api-$flavour.jar" "$tmp/old/share/java/tornado/tornado-api-1.1.0.jar"
set +e
out="$(run opencl --sdk "$tmp/old" 2>&1)"
rc=$?
set -e
[ $rc -eq 2 ] && echo "$out" | grep -q "is not TornadoVM 5.2.0" || fail "wrong version accepted: rc $rc: $out"
passed=$((passed + 2))

# 5. --sdk with a real SDK when one is given (TORNADOVM_HOME), registration points at it
if [ -n "${TORNADOVM_HOME:-}" ] && [ -f "$TORNADOVM_HOME/tornado-argfile" ]; then
  out="$(run opencl --sdk "$TORNADOVM_HOME" 2>&1)" || fail "--sdk $TORNADOVM_HOME: $out"
  grep -q "^TORNADOVM_HOME=$(cd "$TORNADOVM_HOME" && pwd)$" "$env" || fail "registration of the real SDK: $(cat "$env")"
  passed=$((passed + 1))
fi
echo "setup-tornado tests: $passed passed"
