#!/usr/bin/env bash
# README's main command: the whole detection pipeline on the embedded shapes data.
#   bash tools/demo.sh [extra tools/train.py options, e.g. --cfg-options train_cfg.max_epochs=4]
#
# 1. install .venv if needed (seconds when it is up to date)
# 2. generate the shapes COCO dataset (kept if already there)  -> data/shapes_coco_v3
# 3. train SSDLite + ReXNet-1.0 from scratch on it              -> work_dirs/demo_ssdlite_rexnet
# 4. test the last checkpoint, write COCO results JSON
# 5. score it with pycocotools (12-number table; bbox AP@0.5 must reach 0.7)
# 6. draw predictions and the loss curve                        -> predictions.png, loss_curve.png
# Environment: DEMO_DATA (data dir), DEMO_WORK_DIR (output dir), DEMO_MIN_AP50 (0.7).
set -euo pipefail
START=$SECONDS
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA=${DEMO_DATA:-data/shapes_coco_v3}
WORK=${DEMO_WORK_DIR:-work_dirs/demo_ssdlite_rexnet}
MIN_AP50=${DEMO_MIN_AP50:-0.7}
CONFIG=configs/detection/demo/ssdlite_rexnet_shapes.py
step() { printf '\n[demo %4ss] %s\n' "$(( SECONDS - START ))" "$*"; }

step "1/6 environment"
bash tools/install.sh
PY="$ROOT/.venv/bin/python"

step "2/6 data: $DATA"
"$PY" -m rexnet_mm.synthetic.shapes_coco --out "$DATA"
DATA_OPTS=()
if [[ "$DATA" != data/shapes_coco_v3 ]]; then
  DATA_OPTS=(--cfg-options "train_dataloader.dataset.data_root=$DATA/"
             "val_dataloader.dataset.data_root=$DATA/" "test_dataloader.dataset.data_root=$DATA/"
             "val_evaluator.ann_file=$DATA/annotations/instances_val.json"
             "test_evaluator.ann_file=$DATA/annotations/instances_val.json")
fi

step "3/6 train $CONFIG -> $WORK"
# validation is step 4's job: skip the config's end-of-training evaluation
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK" "${DATA_OPTS[@]}" \
  --cfg-options train_cfg.val_begin=1000 "$@"
CKPT=$(cat "$WORK/last_checkpoint")

step "4/6 test $CKPT"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" --json-prefix "$WORK/results" \
  "${DATA_OPTS[@]}"

step "5/6 COCO evaluation of $WORK/results.bbox.json"
set +e
"$PY" tools/coco_eval.py "$DATA/annotations/instances_val.json" \
  --bbox "$WORK/results.bbox.json" --min-ap50 "$MIN_AP50"
STATUS=$?
set -e

step "6/6 figures"
"$PY" -m rexnet_mm.analysis.plots boxes "$DATA/annotations/instances_val.json" \
  --img-dir "$DATA/val" --results "$WORK/results.bbox.json" --out "$WORK/predictions.png"
"$PY" -m rexnet_mm.analysis.plots loss "$WORK" --out "$WORK/loss_curve.png"

step "done in $(( SECONDS - START )) s: $WORK/predictions.png, $WORK/loss_curve.png"
exit $STATUS
