#!/usr/bin/env bash
# Distributed testing with torchrun.
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [tools/test.py options...]
# Without a GPU, the NPROC processes run on the CPU with the gloo backend.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 CONFIG CHECKPOINT NPROC [test.py options...]" >&2
  exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec bash "$(dirname "${BASH_SOURCE[0]}")/_torchrun.sh" "$NPROC" test.py "$CONFIG" "$CHECKPOINT" \
  --launcher pytorch "$@"
