#!/usr/bin/env bash
# Registers a TornadoVM 5.2.0 SDK for ./gemma (profiles opencl, ptx, spirv) and for ./mvnw -Ptornado.
#
#   ./setup-tornado.sh opencl|ptx|spirv [--sdk DIR]
#
# --sdk DIR  an SDK that is already installed (a folder with tornado-argfile or tornado-argfile.template,
#            share/java/tornado/*.jar and etc/tornado.backend): checked for version 5.2.0, the running JDK
#            (jdk21/jdk25) and the backend.
# without    downloads TornadoVM's released SDK archive for the backend and the running JDK, as its docs tell
#            users to (tornadovm-5.2.0-jdkNN-BACKEND-linux-amd64.zip from its GitHub releases), verifies it
#            (SHA-256 when the release publishes one, then its layout) and unpacks it under
#            ${XDG_DATA_HOME:-~/.local/share}/gemma4j/. TORNADOVM_RELEASE_BASE overrides the download location.
#
# Then: installs its tornado-api / tornado-runtime jars into the local Maven repository when they are not
# there (the build needs them; Maven Central has them, the registry reachable here may not), records the SDK
# outside the checkout in ${XDG_CONFIG_HOME:-~/.config}/gemma4j/tornado.env (read by ./gemma and .ci/run),
# and lists the devices TornadoVM sees. TornadoVM 5.2 is pinned: its 6.0 line drops the PTX and SPIR-V backends.
set -euo pipefail

VERSION=5.2.0
usage() {
  echo "usage: ./setup-tornado.sh opencl|ptx|spirv [--sdk DIR]" >&2
  exit 2
}
die() {
  echo "setup-tornado.sh: $*" >&2
  exit 2
}

[ $# -ge 1 ] || usage
backend="$1"
shift
case "$backend" in
  opencl | ptx | spirv) ;;
  *) usage ;;
esac
sdk=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sdk)
      [ $# -ge 2 ] || usage
      sdk="$2"
      shift 2
      ;;
    --sdk=*)
      sdk="${1#--sdk=}"
      shift
      ;;
    *) usage ;;
  esac
done

here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
jdk_major="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)"
case "$jdk_major" in
  21 | 25) ;;
  *) die "TornadoVM $VERSION is released for JDK 21 and 25; the JDK here is ${jdk_major:-unknown} (set JAVA_HOME)" ;;
esac
flavour="$VERSION-jdk$jdk_major"

# --- download mode ---------------------------------------------------------------------------------------
if [ -z "$sdk" ]; then
  base="${TORNADOVM_RELEASE_BASE:-https://github.com/beehive-lab/TornadoVM/releases/download/v$flavour}"
  name="tornadovm-$flavour-$backend-linux-amd64"
  dest="${XDG_DATA_HOME:-$HOME/.local/share}/gemma4j"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "downloading $base/$name.zip"
  curl -fsSL --retry 2 -o "$tmp/$name.zip" "$base/$name.zip" || die "could not download $base/$name.zip"
  if curl -fsSL -o "$tmp/$name.zip.sha256" "$base/$name.zip.sha256" 2>/dev/null; then
    want="$(awk '{print $1; exit}' "$tmp/$name.zip.sha256")"
    got="$(sha256sum "$tmp/$name.zip" | awk '{print $1}')"
    [ "$want" = "$got" ] || die "checksum mismatch for $name.zip (expected $want, got $got)"
    echo "checksum ok ($got)"
  else
    echo "no published checksum for $name.zip; checking the archive's layout instead"
  fi
  unzip -tq "$tmp/$name.zip" > /dev/null || die "$name.zip is not a valid zip archive"
  mkdir -p "$tmp/x"
  unzip -q "$tmp/$name.zip" -d "$tmp/x"
  top="$(find "$tmp/x" -mindepth 1 -maxdepth 2 -type d -name 'tornadovm-*' | head -n1)"
  [ -n "$top" ] || top="$tmp/x"
  mkdir -p "$dest"
  target="$dest/$(basename "$top")"
  [ "$top" != "$tmp/x" ] || target="$dest/$name"
  rm -rf "$target"
  mv "$top" "$target"
  sdk="$target"
fi

# --- check the SDK ---------------------------------------------------------------------------------------
[ -d "$sdk" ] || die "no such SDK folder: $sdk"
sdk="$(cd "$sdk" && pwd)"
if [ ! -f "$sdk/tornado-argfile" ]; then
  [ -f "$sdk/tornado-argfile.template" ] || die "$sdk is not a TornadoVM SDK (no tornado-argfile or tornado-argfile.template)"
  # a release archive ships the template; its paths are relative to TORNADOVM_HOME
  sed "s#\${TORNADOVM_HOME}#$sdk#g" "$sdk/tornado-argfile.template" > "$sdk/tornado-argfile"
fi
jars="$sdk/share/java/tornado"
api_jar="$(ls "$jars"/tornado-api-"$VERSION"-*.jar 2> /dev/null | head -n1 || true)"
runtime_jar="$(ls "$jars"/tornado-runtime-"$VERSION"-*.jar 2> /dev/null | head -n1 || true)"
if [ -z "$api_jar" ] || [ -z "$runtime_jar" ]; then
  found="$(ls "$jars" 2> /dev/null | sed -n 's/^tornado-api-\(.*\)\.jar$/\1/p' | head -n1)"
  die "$sdk is not TornadoVM $VERSION (tornado-api ${found:-missing}); this project needs $VERSION (6.0 has no PTX/SPIR-V)"
fi
sdk_flavour="$(basename "$api_jar" .jar)"
sdk_flavour="${sdk_flavour#tornado-api-}"
[ "$sdk_flavour" = "$flavour" ] || die "$sdk is TornadoVM $sdk_flavour but the JDK here is $jdk_major (need $flavour)"
backends="$(sed -n 's/^tornado.backends=//p' "$sdk/etc/tornado.backend" 2> /dev/null | head -n1)"
case ",$backends," in
  *",$backend-backend,"* | *",$backend,"*) ;;
  *) die "$sdk has the backends '${backends:-none}', not $backend (download the $backend or full SDK)" ;;
esac

# --- the jars the build compiles against -----------------------------------------------------------------
m2="${MAVEN_REPO:-$HOME/.m2/repository}/io/github/beehive-lab"
for pair in "tornado-api:$api_jar" "tornado-runtime:$runtime_jar"; do
  artifact="${pair%%:*}"
  jar="${pair#*:}"
  if [ ! -f "$m2/$artifact/$flavour/$artifact-$flavour.jar" ]; then
    echo "installing $artifact $flavour into the local Maven repository"
    "$here/mvnw" -q -B install:install-file -Dfile="$jar" -DgroupId=io.github.beehive-lab -DartifactId="$artifact" \
      -Dversion="$flavour" -Dpackaging=jar ${MAVEN_REPO:+-Dmaven.repo.local="$MAVEN_REPO"} \
      || die "could not install $jar into the local Maven repository"
  fi
done

# --- registration, outside the checkout --------------------------------------------------------------------
conf="${XDG_CONFIG_HOME:-$HOME/.config}/gemma4j"
mkdir -p "$conf"
{
  echo "# written by setup-tornado.sh; read by ./gemma (profiles opencl/ptx/spirv) and .ci/run"
  echo "TORNADOVM_HOME=$sdk"
  echo "TORNADOVM_BACKEND=$backend"
  echo "TORNADOVM_VERSION=$flavour"
} > "$conf/tornado.env"
echo "registered TornadoVM $flavour ($backend) at $sdk in $conf/tornado.env"

# --- what it sees ---------------------------------------------------------------------------------------
if [ -x "$sdk/bin/tornado" ]; then
  TORNADOVM_HOME="$sdk" JAVA_HOME="${JAVA_HOME:-}" "$sdk/bin/tornado" --devices || echo "setup-tornado.sh: 'tornado --devices' failed; check the driver for $backend" >&2
else
  echo "setup-tornado.sh: $sdk/bin/tornado missing; cannot list devices" >&2
fi
