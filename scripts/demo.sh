#!/usr/bin/env bash
# The main job: set everything up, then govern, scan, install and run the example skill.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/settings.sh
exec .venv/bin/skillguard --db "${SKILLGUARD_DB:-.skillguard/demo.db}" run-skill examples/dates-and-requests \
  --policy examples/dates-and-requests/policy.toml
