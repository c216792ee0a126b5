#!/usr/bin/env bash
# Everything the main job and the tests need on a fresh Debian machine, as
# root: build tools, a running Docker engine, the base image, and a virtual
# environment with skillguard built into it. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # the HTTPS index test makes its certificates
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || {
  echo "setup: cargo is missing; install a Rust toolchain (1.85 or newer) first" >&2
  exit 1
}

bash scripts/docker-up.sh
bash scripts/base-image.sh

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check "maturin>=1.7,<2" "pytest>=8" pyyaml packaging cvss
echo "setup: building skillguard into .venv"
.venv/bin/maturin develop -q
