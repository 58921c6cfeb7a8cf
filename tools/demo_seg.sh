#!/usr/bin/env bash
# The segmentation demo: the whole mmseg pipeline on the embedded shapes data.
#   bash tools/demo_seg.sh [extra tools/train.py options]
#
# 1. install .venv if needed (seconds when it is up to date)
# 2. generate the shapes segmentation dataset (kept if already there)  -> data/shapes_seg
# 3. train Semantic FPN + ReXNet-1.0 from scratch                   -> work_dirs/demo_seg_rexnet
# 4. test the checkpoint with mmseg's IoUMetric (per-class IoU table; mIoU must reach the
#    pass mark) and keep the predicted label maps                     -> preds/
# 5. draw predicted masks next to the ground truth, and the loss curve -> masks.png, loss_curve.png
# Environment: DEMO_DATA (data dir), DEMO_WORK_DIR (output dir), DEMO_MIN_MIOU (60).
set -euo pipefail
START=$SECONDS
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA=${DEMO_DATA:-data/shapes_seg}
WORK=${DEMO_WORK_DIR:-work_dirs/demo_seg_rexnet}
MIN_MIOU=${DEMO_MIN_MIOU:-60}
CONFIG=configs/segmentation/demo/fpn_rexnet-1.0_shapes.py
step() { printf '\n[demo_seg %4ss] %s\n' "$(( SECONDS - START ))" "$*"; }

step "1/5 environment"
bash tools/install.sh
PY="$ROOT/.venv/bin/python"

step "2/5 data: $DATA"
"$PY" -m rexnet_mm.synthetic.shapes_seg --out "$DATA"
DATA_OPTS=(--cfg-options "train_dataloader.dataset.data_root=$DATA/"
           "val_dataloader.dataset.data_root=$DATA/" "test_dataloader.dataset.data_root=$DATA/")

step "3/5 train $CONFIG -> $WORK"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK" "${DATA_OPTS[@]}" "$@"
CKPT=$(cat "$WORK/last_checkpoint")

step "4/5 test $CKPT (mmseg IoUMetric)"
rm -rf "$WORK/preds"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" --out "$WORK/preds" \
  "${DATA_OPTS[@]}" | tee "$WORK/test.log"
MIOU=$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['mIoU'])" \
  "$(ls -t "$WORK"/*/*.json | head -n 1)")
set +e
"$PY" -c "import sys; m, lo = float(sys.argv[1]), float(sys.argv[2]); print(('OK: mIoU %.2f >= %g' if m >= lo else 'FAILED: mIoU %.2f < %g') % (m, lo)); sys.exit(m < lo)" "$MIOU" "$MIN_MIOU"
STATUS=$?
set -e

step "5/5 figures"
"$PY" -m rexnet_mm.analysis.plots masks "$DATA" --pred-dir "$WORK/preds" --out "$WORK/masks.png"
"$PY" -m rexnet_mm.analysis.plots loss "$WORK" --out "$WORK/loss_curve.png"

step "done in $(( SECONDS - START )) s: $WORK/masks.png, $WORK/loss_curve.png"
exit $STATUS
