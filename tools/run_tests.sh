#!/usr/bin/env bash
# README's test command: installs .venv if needed (seconds when it is up to date), runs the
# whole test suite, then the parity tests again under other numerics: one thread and
# MKL/oneDNN capped at SSE4 kernels (default: all cores, the widest SIMD the CPU has), so
# that no tolerance tuned to one machine's float32 rounding can pass unnoticed.
# Extra arguments go to both pytest runs (e.g. -k rexnet, -x).
#
#   bash tools/run_tests.sh --quick [ARGS]   # the developer loop: tests not marked `slow`
#
# --quick leaves out what trains (the Runner, torchrun), builds a wheel, exports ONNX, starts a
# fresh Python or sweeps a whole model zoo (`@pytest.mark.slow`, tests/conftest.py), and the
# parity rerun; it skips the install step when .venv is installed (run this script without
# --quick, or tools/install.sh, after changing setup.py or the pins). CI runs everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=
if [[ "${1:-}" == "--quick" ]]; then
  QUICK=1
  shift
fi
if [[ -z "$QUICK" || ! -f "$ROOT/.venv/.rexnet_mm_installed" ]]; then
  bash "$ROOT/tools/install.sh"
fi
cd "$ROOT"
PYTEST=("$ROOT/.venv/bin/python" -m pytest tests -q -p no:cacheprovider)
if [[ -n "$QUICK" ]]; then
  # single tests to each worker: no module fixture in this subset is worth keeping
  # together, and per-test distribution balances the two workers (docs/development.md)
  exec "${PYTEST[@]}" -n "${TEST_WORKERS:-2}" --dist load -m "not slow" "$@"
fi
# pytest exits 5 when it collects no test: that is a failure here, not a pass.
# Two workers (pytest-xdist), a test file each at a time (module fixtures are built once):
# most of the suite is single-threaded Python (imports, data pipelines, the Runner), so
# this halves the wall time on 2 cores; TEST_WORKERS=0 runs everything in this process.
# The parity rerun has no module fixtures worth keeping and hands out single tests
# (--dist load: 43 s instead of 58 s a file at a time, fresh clone).
WORKERS=(-n "${TEST_WORKERS:-2}" --dist loadfile)
"${PYTEST[@]}" "${WORKERS[@]}" --durations=15 "$@"
echo "== parity tests under other numerics: OMP_NUM_THREADS=1 MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41"
OMP_NUM_THREADS=1 MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41 \
  "${PYTEST[@]}" -n "${TEST_WORKERS:-2}" --dist load -m parity "$@"
