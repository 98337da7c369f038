#!/usr/bin/env bash
# Points the build at a TornadoVM SDK (needed only for -Ptornado and the opencl/ptx/spirv profiles).
# Usage: ./setup-tornado.sh /path/to/TornadoVM-sdk
# The SDK must be installed already (TornadoVM's own install docs); this script checks it and prints the
# environment to export. It does not download or build TornadoVM.
set -euo pipefail
sdk="${1:-${TORNADOVM_HOME:-}}"
if [ -z "$sdk" ] || [ ! -f "$sdk/tornado-argfile" ]; then
  echo "setup-tornado.sh: give the path of a TornadoVM SDK (a folder with tornado-argfile), or set TORNADOVM_HOME" >&2
  exit 2
fi
repo="${HOME}/.m2/repository/io/github/beehive-lab/tornado-api"
if [ ! -d "$repo" ]; then
  echo "setup-tornado.sh: tornado-api is not in the local Maven repository; install TornadoVM with its own build first" >&2
  exit 2
fi
echo "export TORNADOVM_HOME=$sdk"
echo "export PATH=\$TORNADOVM_HOME/bin:\$PATH"
echo "# then: ./mvnw -Ptornado verify"
