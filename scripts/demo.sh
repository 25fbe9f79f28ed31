#!/usr/bin/env bash
# Quick start #1: set up, then run the whole pipeline on the embedded default (synthetic Korean plates), on CPU:
#   synth-plates -> check-labels -> train (warm-up on clean plates, then realistic plates) -> eval -> predict
#   -> diagnose/report.
# Environment knobs: DEMO_NUM (realistic plates, default 8000), DEMO_EPOCHS (realistic stage, default from the
# config), DEMO_WARMUP_EPOCHS (clean stage), DEMO_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
PPEXP=".venv/bin/ppexp"
DATA=./train_data/kr_plates
RUN=${DEMO_OUT:-./output/rec/plates_demo}
CFG=configs/rec/plates_demo.yml
WARM_DATA=./train_data/kr_plates_clean
WARM_RUN=${RUN%/}_warmup
WARM_CFG=configs/rec/plates_demo_warmup.yml
OPTS=(-o "Global.save_model_dir=$RUN")
[ -n "${DEMO_EPOCHS:-}" ] && OPTS+=("Global.epoch_num=$DEMO_EPOCHS")
WARM_OPTS=(-o "Global.save_model_dir=$WARM_RUN")
[ -n "${DEMO_WARMUP_EPOCHS:-}" ] && WARM_OPTS+=("Global.epoch_num=$DEMO_WARMUP_EPOCHS")

step() { printf '\n==== %s ====\n' "$*"; }

step "1/6 synthetic plates -> $DATA (realistic) and $WARM_DATA (clean, flat, single-line: the warm-up)"
# make DIR NUM SEED CLEAN: (re)generate unless DIR already holds exactly that set (synth_meta.json says so).
make() {
  if [ -f "$1/val.txt" ] && $PY -c "import json,sys; m=json.load(open('$1/synth_meta.json'))
sys.exit(0 if (m['num'], m['seed'], m['clean'], m['two_line_ratio']) == ($2, $3, $4, 0.0) else 1)" 2>/dev/null; then
    echo "reusing $1 (the same plate set; delete it to regenerate)"
  else
    [ -f "$1/val.txt" ] && echo "$1 holds a different plate set: regenerating it (its label files are rewritten)"
    local flags=(); [ "$4" = True ] && flags=(--clean)
    $PPEXP synth-plates --out "$1" --num "$2" --seed "$3" --val-fraction 0.1 --two-line-ratio 0 "${flags[@]}"
  fi
}
make "$DATA" "${DEMO_NUM:-8000}" 0 False
make "$WARM_DATA" 2400 1 True

step "2/6 check-labels (the round trip every label must survive)"
$PPEXP check-labels -c "$WARM_CFG" --no-progress
$PPEXP check-labels -c "$CFG" --no-progress

step "3/6 train: warm-up $WARM_CFG, then $CFG from its weights"
$PPEXP train -c "$WARM_CFG" "${WARM_OPTS[@]}"
$PPEXP train -c "$CFG" "${OPTS[@]}" "Global.pretrained_model=$WARM_RUN/latest"

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
