#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every test with node --test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
node scripts/run-tests.mjs "$@"
