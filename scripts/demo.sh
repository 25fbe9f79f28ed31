#!/usr/bin/env bash
# Quick start #1: set up, then run the whole pipeline on the embedded default (synthetic Korean plates), on CPU:
#   synth-plates -> check-labels -> fine-tune the shipped plate recogniser -> eval (per plate group, errors,
#   confusions) -> predict -> diagnose/report (-> the real hold-out photos, evaluation only, when ../shared is there).
# The shipped model (ppexp/pretrained/kr_plates_rec/) was trained only on synthetic plates by
# scripts/pretrain_plates.sh. Environment knobs: DEMO_NUM (plates, default 8000), DEMO_EPOCHS (default from the
# config), DEMO_OUT (default ./output/rec/plates_demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PPEXP=".venv/bin/ppexp"
PY=.venv/bin/python
DATA=./train_data/kr_plates
RUN=${DEMO_OUT:-./output/rec/plates_demo}
CFG=configs/rec/plates_demo.yml
NUM=${DEMO_NUM:-8000}
OPTS=(-o "Global.save_model_dir=$RUN")
[ -n "${DEMO_EPOCHS:-}" ] && OPTS+=("Global.epoch_num=$DEMO_EPOCHS")

step() { printf '\n==== %s ====\n' "$*"; }

step "1/7 synthetic plates -> $DATA"
# (re)generate unless DATA already holds exactly this set (synth_meta.json says so)
if [ -f "$DATA/val.txt" ] && $PY -c "import json,sys; m=json.load(open('$DATA/synth_meta.json'))
from ppexp.experiments.synth.dataset import GENERATOR_VERSION as V
sys.exit(0 if (m['num'], m['seed'], m['clean'], m['two_line_ratio'], m.get('joinable'), m.get('generator_version')) == ($NUM, 0, False, 0.3, True, V) else 1)" 2>/dev/null; then
  echo "reusing $DATA (the same plate set; delete it to regenerate)"
else
  [ -f "$DATA/val.txt" ] && echo "$DATA holds a different plate set: regenerating it (its label files are rewritten)"
  $PPEXP synth-plates --out "$DATA" --num "$NUM" --seed 0 --val-fraction 0.1 --joinable --no-progress
fi

step "2/7 check-labels (the round trip every label must survive)"
$PPEXP check-labels -c "$CFG" --no-progress

step "3/7 shipped model before fine-tuning, on the synthetic val set"
$PPEXP eval -c "$CFG" "${OPTS[@]}" "Global.checkpoints=ppexp/pretrained/kr_plates_rec/best_accuracy"

step "4/7 fine-tune $CFG from the shipped model"
$PPEXP train -c "$CFG" "${OPTS[@]}"

step "5/7 eval best_accuracy on the synthetic val set: groups, errors, confusions"
$PPEXP eval -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" --errors --max-errors 10 \
    --json "$RUN/eval_synthetic.json"

step "6/7 predict a few images"
mkdir -p "$RUN/predict_samples"
head -n 6 "$DATA/val.txt" | cut -f1 | while read -r rel; do cp "$DATA/$rel" "$RUN/predict_samples/"; done
$PPEXP predict -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" --image "$RUN/predict_samples"

step "7/7 diagnose and report"
$PPEXP diagnose "$RUN" || true
$PPEXP report "$RUN" --out "$RUN/report.md" || true

HOLDOUT=../shared/holdout/kr_plates_real
if [ -f "$HOLDOUT/labels.txt" ]; then
  step "bonus: real plate photos (evaluation only)"
  $PPEXP eval -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" \
      "Eval.dataset.data_dir=$HOLDOUT" "Eval.dataset.label_file_list=[$HOLDOUT/labels.txt]" \
      --errors --json "$RUN/eval_holdout.json" || true
fi

echo
echo "VisualDL logs: $RUN/vdl   ->   .venv/bin/visualdl --logdir $RUN/vdl --port 8040"
echo "Report: $RUN/report.md    Checkpoints: $RUN/best_accuracy.pdparams"
