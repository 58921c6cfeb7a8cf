#!/usr/bin/env bash
# Shared by dist_train.sh and dist_test.sh: run tools/TOOL on NPROC torchrun processes.
#   bash tools/_torchrun.sh NPROC TOOL [TOOL arguments...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun. Python: PYTHON,
# else the repo's .venv, else python on PATH.
set -euo pipefail
NPROC=$1
TOOL=$2
shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-$( [[ -x "$ROOT/.venv/bin/python" ]] && echo "$ROOT/.venv/bin/python" || echo python )}
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  "$ROOT/tools/$TOOL" "$@"
