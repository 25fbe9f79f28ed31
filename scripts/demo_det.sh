#!/usr/bin/env bash
# The detection demo: set up, then synthetic street scenes -> check-labels -> fine-tune the plate detector ppexp
# ships (ppexp/pretrained/kr_plates_det/, trained on synthetic scenes only by scripts/pretrain_det_plates.sh)
# -> eval (hmean, precision, recall) -> export det and the shipped recogniser -> `ppexp ocr` end to end on the
# val scenes (share of plates read exactly). Environment knobs: DET_DEMO_OUT (default ./output/det/plates_demo),
# DET_DEMO_EPOCHS (default from the config).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PPEXP=".venv/bin/ppexp"
DATA=./train_data/kr_plates_det
RUN=${DET_DEMO_OUT:-./output/det/plates_demo}
CFG=configs/det/det_plates_demo.yml
OPTS=(-o "Global.save_model_dir=$RUN" "Global.save_res_path=$RUN/predicts_db.txt")
[ -n "${DET_DEMO_EPOCHS:-}" ] && OPTS+=("Global.epoch_num=$DET_DEMO_EPOCHS")

step() { printf '\n==== %s ====\n' "$*"; }

step "1/6 synthetic scenes -> $DATA"
if [ -f "$DATA/val.txt" ] && [ "$(cat "$DATA/.ppexp_args" 2>/dev/null)" = "--num 2000 --seed 0" ]; then
  echo "reusing $DATA (the same scene set; delete it to regenerate)"
else
  $PPEXP synth-plates --det --out "$DATA" --num 2000 --seed 0 --no-progress && echo "--num 2000 --seed 0" > "$DATA/.ppexp_args"
fi

step "2/6 check-labels (det label format, polygons)"
$PPEXP check-labels -c "$CFG" --no-progress

mkdir -p "$RUN"
step "3/6 shipped detector before fine-tuning, on the val scenes"
$PPEXP eval -c "$CFG" "${OPTS[@]}" "Global.checkpoints=ppexp/pretrained/kr_plates_det/best_accuracy" \
    --json "$RUN/eval_shipped.json"

step "4/6 fine-tune $CFG from the shipped detector"
$PPEXP train -c "$CFG" "${OPTS[@]}"

step "5/6 eval best_accuracy on the val scenes"
$PPEXP eval -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" --json "$RUN/eval.json"

step "6/6 export both models, then detect -> recognise on the val scenes"
$PPEXP export -c "$CFG" "${OPTS[@]}" "Global.checkpoints=$RUN/best_accuracy" "Global.save_inference_dir=$RUN/inference_det"
$PPEXP export -c ppexp/pretrained/kr_plates_rec/config.yml -o "Global.checkpoints=ppexp/pretrained/kr_plates_rec/best_accuracy" \
    "Global.save_inference_dir=$RUN/inference_rec"
# the recogniser was trained on crops resized to its RecResizeImg image_shape (wide ones squeezed): read them so,
# as TextRecognition(input_shape=...) does, not at their natural width (README, Deploy with PaddleOCR 3)
REC_SHAPE=$(.venv/bin/python -c "import yaml; c = yaml.safe_load(open('ppexp/pretrained/kr_plates_rec/config.yml'))
print(','.join(map(str, next(t['RecResizeImg']['image_shape'] for t in c['Eval']['dataset']['transforms'] if 'RecResizeImg' in t))))")
$PPEXP ocr --det-model-dir "$RUN/inference_det" --rec-model-dir "$RUN/inference_rec" --labels "$DATA/val.txt" \
    --rec-input-shape "$REC_SHAPE" --out "$RUN/ocr_val"

echo
echo "Detector: $RUN/best_accuracy.pdparams   metrics: $RUN/eval.json   end to end: $RUN/ocr_val/summary.json"
