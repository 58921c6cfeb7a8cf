#!/usr/bin/env bash
# README's test command: installs .venv if needed (seconds when it is up to date), then
# runs the whole test suite. Extra arguments go to pytest (e.g. -k rexnet, -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/install.sh"
cd "$ROOT"
# pytest exits 5 when it collects no test: that is a failure here, not a pass.
exec "$ROOT/.venv/bin/python" -m pytest tests -q -p no:cacheprovider --durations=15 "$@"
