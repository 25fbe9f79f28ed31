#!/usr/bin/env bash
# Reproduce the plate detector shipped in ppexp/pretrained/kr_plates_det/ from a clean clone, on CPU:
#   synthetic street scenes only (ppexp synth-plates --det) -> stage 1 from scratch, 8 epochs on the demo's
#   2,000 scenes (configs/det/det_plates_pretrain.yml) -> stage 2, 3 epochs on 4,000 fresh scenes
#   (configs/det/det_plates_pretrain_more.yml) -> copy stage 2's best_accuracy (hmean on its own val scenes)
#   into ppexp/pretrained/kr_plates_det/. About 2 h 20 min on 2 cores (README, Detection). Knob: PRETRAIN_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PPEXP=".venv/bin/ppexp"
OUT=${PRETRAIN_OUT:-./output/det/plates_pretrain}
MORE_OUT=${OUT%/}_more
SHIP=ppexp/pretrained/kr_plates_det

gen() {  # DIR then synth-plates flags; regenerated unless DIR was made by exactly these flags
  local dir=$1; shift
  if [ -f "$dir/synth_meta.json" ] && [ "$(cat "$dir/.ppexp_args" 2>/dev/null)" = "$*" ]; then
    echo "reusing $dir"
  else
    $PPEXP synth-plates --det --out "$dir" "$@" --no-progress && echo "$*" > "$dir/.ppexp_args"
  fi
}
gen ./train_data/kr_plates_det --num 2000 --seed 0
gen ./train_data/kr_plates_det2 --num 4000 --seed 1

$PPEXP check-labels -c configs/det/det_plates_pretrain.yml --no-progress
$PPEXP train -c configs/det/det_plates_pretrain.yml -o "Global.save_model_dir=$OUT"
$PPEXP check-labels -c configs/det/det_plates_pretrain_more.yml --no-progress
$PPEXP train -c configs/det/det_plates_pretrain_more.yml -o "Global.save_model_dir=$MORE_OUT" \
    "Global.pretrained_model=$OUT/best_accuracy"
mkdir -p "$SHIP"
cp "$MORE_OUT/best_accuracy.pdparams" "$SHIP/best_accuracy.pdparams"
cp "$MORE_OUT/config.yml" "$SHIP/config.yml"
echo "shipped: $SHIP/best_accuracy.pdparams ($(du -h "$SHIP/best_accuracy.pdparams" | cut -f1))"
