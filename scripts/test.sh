#!/usr/bin/env bash
# The test suite: set everything up, then the Rust tests and the pytest suite
# (which includes Docker-backed runs against the real engine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/settings.sh
cargo test --locked
.venv/bin/python -m pytest
