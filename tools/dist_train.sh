#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun.
#   bash tools/dist_train.sh CONFIG NPROC [tools/train.py options...]
# e.g. bash tools/dist_train.sh configs/ssdlite_rexnet.py 8 --auto-scale-lr
# Without a GPU, the NPROC processes train on the CPU with the gloo backend.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG NPROC [train.py options...]" >&2
  exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
exec bash "$(dirname "${BASH_SOURCE[0]}")/_torchrun.sh" "$NPROC" train.py "$CONFIG" \
  --launcher pytorch "$@"
