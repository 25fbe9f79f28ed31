#!/usr/bin/env bash
# Reproduce the plate recogniser shipped in ppexp/pretrained/kr_plates_rec/ from a clean clone, on CPU:
#   synthetic plates only (never real photos) -> stage 1 on clean plates -> stage 2 on realistic plates
#   -> stage 3 one more epoch of them -> stage 4 on a fresh set with two-line plates joined into one line
#   (TwoLineToOneLine) -> stage 5, a one-row model, on a set with legible region names, half two-line, all
#   joinable -> stage 6, more of the same on a fresh set -> stage 7 on a fresh set of generator v5 (plate-style
#   1, condensed two-line digits) -> stage 8, one more epoch on a fresh v5 set at a lower lr -> stages 9-12,
#   the same recipe on four more fresh sets -> stages 13-15 with ShrinkLarge, Deskew and CropToText before the
#   join, on fresh sets -> copy the better of best_accuracy / latest of stage 15 (synthetic val) into
#   ppexp/pretrained/kr_plates_rec/. Every set is drawn by the current generator (v6 since stop 28; the shipped
#   stages were trained on the generator of their day: v5 up to stage 12).
# Measured wall time and curves: docs/plates_convergence.md. Knobs: PRETRAIN_EPOCHS (stage 2), PRETRAIN_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PPEXP=".venv/bin/ppexp"
PY=.venv/bin/python
OUT=${PRETRAIN_OUT:-./output/rec/plates_pretrain}
WARM_OUT=${OUT%/}_warmup
LONG_OUT=${OUT%/}_long
JOIN_OUT=${OUT%/}_join
REGION_OUT=${OUT%/}_region
MORE_OUT=${OUT%/}_more
V5_OUT=${OUT%/}_v5
V5B_OUT=${OUT%/}_v5b
V5C_OUT=${OUT%/}_v5c
V5D_OUT=${OUT%/}_v5d
V5E_OUT=${OUT%/}_v5e
V5F_OUT=${OUT%/}_v5f
V6A_OUT=${OUT%/}_v6a
V6B_OUT=${OUT%/}_v6b
V6C_OUT=${OUT%/}_v6c
LAST_CFG=configs/rec/plates_pretrain_v6c.yml
SHIP=ppexp/pretrained/kr_plates_rec

GEN_V=$($PY -c "from ppexp.experiments.synth.dataset import GENERATOR_VERSION as V; print(V)")
gen() {  # DIR then synth-plates flags; regenerated unless DIR holds exactly that set (same generator version)
  local dir=$1; shift
  if [ -f "$dir/synth_meta.json" ] && [ "$(cat "$dir/.ppexp_args" 2>/dev/null)" = "$*" ] \
     && grep -q "\"generator_version\": $GEN_V," "$dir/synth_meta.json"; then
    echo "reusing $dir"
  else
    $PPEXP synth-plates --out "$dir" "$@" --no-progress && echo "$*" > "$dir/.ppexp_args"
  fi
}
gen ./train_data/kr_plates_clean --num 4000 --seed 1 --clean
gen ./train_data/kr_plates_pretrain --num 60000 --seed 100 --clean-ratio 0.15 --val-fraction 0.02
gen ./train_data/kr_plates_join --num 30000 --seed 200 --clean-ratio 0.1 --val-fraction 0.04
gen ./train_data/kr_plates_region --num 50000 --seed 400 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.024 --joinable
gen ./train_data/kr_plates_more --num 50000 --seed 500 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.024 --joinable
gen ./train_data/kr_plates_v5 --num 64000 --seed 600 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.02 --joinable
gen ./train_data/kr_plates_v5b --num 48000 --seed 700 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable
gen ./train_data/kr_plates_v5c --num 48000 --seed 800 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable
gen ./train_data/kr_plates_v5d --num 48000 --seed 900 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable
gen ./train_data/kr_plates_v5e --num 48000 --seed 1000 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable
gen ./train_data/kr_plates_v5f --num 48000 --seed 1100 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable
gen ./train_data/kr_plates_v6a --num 40000 --seed 1200 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable
gen ./train_data/kr_plates_v6b --num 40000 --seed 1300 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable
gen ./train_data/kr_plates_v6c --num 40000 --seed 1400 --two-line-ratio 0.5 --clean-ratio 0.1 --val-fraction 0.025 --joinable

$PPEXP check-labels -c configs/rec/plates_pretrain.yml --no-progress
$PPEXP train -c configs/rec/plates_pretrain_warmup.yml -o "Global.save_model_dir=$WARM_OUT"
EPOCHS=()
[ -n "${PRETRAIN_EPOCHS:-}" ] && EPOCHS=("Global.epoch_num=$PRETRAIN_EPOCHS")
$PPEXP train -c configs/rec/plates_pretrain.yml -o "Global.save_model_dir=$OUT" \
    "Global.pretrained_model=$WARM_OUT/latest" "${EPOCHS[@]}"
$PPEXP train -c configs/rec/plates_pretrain_long.yml -o "Global.save_model_dir=$LONG_OUT" \
    "Global.pretrained_model=$OUT/latest"
stage() {  # CONFIG OUT PREV_OUT: check the labels, then train CONFIG from PREV_OUT's final weights into OUT
  $PPEXP check-labels -c "$1" --no-progress
  $PPEXP train -c "$1" -o "Global.save_model_dir=$2" "Global.pretrained_model=$3/latest"
}
stage configs/rec/plates_pretrain_join.yml "$JOIN_OUT" "$LONG_OUT"
stage configs/rec/plates_pretrain_region.yml "$REGION_OUT" "$JOIN_OUT"
stage configs/rec/plates_pretrain_more.yml "$MORE_OUT" "$REGION_OUT"
stage configs/rec/plates_pretrain_v5.yml "$V5_OUT" "$MORE_OUT"
stage configs/rec/plates_pretrain_v5b.yml "$V5B_OUT" "$V5_OUT"
stage configs/rec/plates_pretrain_v5c.yml "$V5C_OUT" "$V5B_OUT"
stage configs/rec/plates_pretrain_v5d.yml "$V5D_OUT" "$V5C_OUT"
stage configs/rec/plates_pretrain_v5e.yml "$V5E_OUT" "$V5D_OUT"
stage configs/rec/plates_pretrain_v5f.yml "$V5F_OUT" "$V5E_OUT"
stage configs/rec/plates_pretrain_v6a.yml "$V6A_OUT" "$V5F_OUT"
stage configs/rec/plates_pretrain_v6b.yml "$V6B_OUT" "$V6A_OUT"
stage "$LAST_CFG" "$V6C_OUT" "$V6B_OUT"
mkdir -p "$SHIP"
# pick best_accuracy or latest (lr annealed) of the last stage by synthetic val acc, never by real photos
best=$($PY - "$V6C_OUT" "$LAST_CFG" <<'PYEOF'
import json, subprocess, sys
out, cfg = sys.argv[1:3]
scores = {}
for name in ("best_accuracy", "latest"):
    subprocess.run([".venv/bin/ppexp", "eval", "-c", cfg, "-o",
                    f"Global.checkpoints={out}/{name}", "--json", f"{out}/eval_{name}.json"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scores[name] = json.load(open(f"{out}/eval_{name}.json"))["acc"]
print(max(scores, key=scores.get))
PYEOF
)
echo "synthetic val picks $best"
cp "$V6C_OUT/$best.pdparams" "$SHIP/best_accuracy.pdparams"
cp "$V6C_OUT/config.yml" "$SHIP/config.yml"
echo "shipped: $SHIP/best_accuracy.pdparams ($(du -h "$SHIP/best_accuracy.pdparams" | cut -f1))"
