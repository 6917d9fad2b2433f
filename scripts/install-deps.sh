#!/usr/bin/env bash
# Installs the Debian 12 packages peoplesync needs, and only those that are
# missing. Uses sudo when not root. Never pulls libboost-dev (Boost 1.74),
# which conflicts with the 1.81 packages we build against.
#
# Usage: install-deps.sh [build|all]   (default: $PEOPLESYNC_DEPS, else all)
#   build  what building the binaries needs: scripts/demo.sh and the
#          container's build stage (PEOPLESYNC_DEPS=build)
#   all    that and the test tools: scripts/test.sh
set -euo pipefail

set_name=${1:-${PEOPLESYNC_DEPS:-all}}
case "$set_name" in
  build|all) ;;
  *) echo "install-deps: unknown package set '$set_name' (build or all)" >&2; exit 2 ;;
esac

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libssl-dev openssl libsimdjson-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libsystemd-dev ca-certificates
)
# Test tools: GoogleTest; curl and sqlite3, which the shell tests drive the
# daemon and read its state with; promtool checks /metrics, systemd-analyze
# the unit, headless Chromium the /status page (~80 MB download, ~25 s to
# install here), python3 the end-to-end tests and the engine benchmark (JSON
# and the admin API).
if [[ "$set_name" == all ]]; then
  packages+=(libgtest-dev libgmock-dev curl sqlite3 prometheus systemd chromium python3)
fi
if [[ "${PEOPLESYNC_EXTRA_PACKAGES:-}" != "" ]]; then
  # shellcheck disable=SC2206
  packages+=(${PEOPLESYNC_EXTRA_PACKAGES})
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
