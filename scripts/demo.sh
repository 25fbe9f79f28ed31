#!/usr/bin/env bash
# Quick start #1: set up, then run the whole pipeline on the embedded default (synthetic Korean plates), on CPU:
#   synth-plates -> check-labels -> train plates_demo -> eval -> predict -> diagnose/report.
# Environment knobs: DEMO_NUM (plates, default 6000), DEMO_EPOCHS (default from the config), DEMO_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
PPEXP=".venv/bin/ppexp"
DATA=./train_data/kr_plates
RUN=${DEMO_OUT:-./output/rec/plates_demo}
CFG=configs/rec/plates_demo.yml
OPTS=(-o "Global.save_model_dir=$RUN")
[ -n "${DEMO_EPOCHS:-}" ] && OPTS+=("Global.epoch_num=$DEMO_EPOCHS")

step() { printf '\n==== %s ====\n' "$*"; }

step "1/6 synthetic plates -> $DATA"
if [ ! -f "$DATA/val.txt" ]; then
  $PPEXP synth-plates --out "$DATA" --num "${DEMO_NUM:-6000}" --seed 0 --val-fraction 0.1
else
  echo "reusing $DATA (delete it to regenerate)"
fi

step "2/6 check-labels (the round trip every label must survive)"
$PPEXP check-labels -c "$CFG" --no-progress

step "3/6 train $CFG"
$PPEXP train -c "$CFG" "${OPTS[@]}"

step "4/6 eval best_accuracy on the synthetic val set"
$PPEXP eval -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" --show 8

step "5/6 predict a few images"
mkdir -p "$RUN/predict_samples"
head -n 6 "$DATA/val.txt" | cut -f1 | while read -r rel; do cp "$DATA/$rel" "$RUN/predict_samples/"; done
$PPEXP predict -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" --image "$RUN/predict_samples"

step "6/6 diagnose and report"
$PPEXP diagnose "$RUN" || true
$PPEXP report "$RUN" --out "$RUN/report.md" || true

HOLDOUT=../shared/holdout/kr_plates_real
if [ -f "$HOLDOUT/labels.txt" ]; then
  step "bonus: real plates hold-out (evaluation only)"
  $PPEXP eval -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" \
      "Eval.dataset.data_dir=$HOLDOUT" "Eval.dataset.label_file_list=[$HOLDOUT/labels.txt]" --show 81 || true
fi

echo
echo "VisualDL logs: $RUN/vdl   ->   .venv/bin/visualdl --logdir $RUN/vdl --port 8040"
echo "Report: $RUN/report.md    Checkpoints: $RUN/best_accuracy.pdparams"
