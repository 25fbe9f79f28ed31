"""``ppexp ocr --det-model-dir D --rec-model-dir R --image PATH [--out DIR]``: detect, crop, recognise.

Both directories are exports (``ppexp export``), as upstream's predict_system takes det_model_dir and
rec_model_dir. Prints one line per text (text, recognition score, detection score, box) and writes
``<image>.json`` and ``<image>.png`` (boxes and texts drawn) per image into --out, plus
``system_results.txt`` (upstream's ``path<TAB>[{"transcription", "points"}]`` lines).
"""
import json
import os


def add_parser(subparsers):
    p = subparsers.add_parser("ocr", help="detect and recognise text with exported det + rec models",
                              description=__doc__)
    p.add_argument("--det-model-dir", required=True, help="exported DB detector (ppexp export -c configs/det/...)")
    p.add_argument("--rec-model-dir", required=True, help="exported recogniser (ppexp export -c configs/rec/...)")
    p.add_argument("--image", required=True, help="image file or folder of images")
    p.add_argument("--out", default="./output/ocr", help="folder for JSON + PNG per image (default ./output/ocr)")
    p.add_argument("--drop-score", type=float, default=0.5,
                   help="leave out texts recognised with a lower score (upstream's drop_score, default 0.5)")
    p.set_defaults(func=run)
    return p


def run(args):
    import paddle

    paddle.set_device("cpu")
    from ppexp.engine.ocr_pipeline import Detector, Recognizer, ocr_image, write_ocr_outputs
    from ppexp.engine.predictor import list_images

    paths = list_images(args.image)
    try:
        detector, recognizer = Detector(args.det_model_dir), Recognizer(args.rec_model_dir)
    except ValueError as err:
        print(f"ppexp ocr: error: {err}")
        return 2
    lines = []
    for path in paths:
        img, items = ocr_image(path, detector, recognizer, args.drop_score)
        json_path, png_path = write_ocr_outputs(path, img, items, args.out)
        print(f"{path}: {len(items)} text(s) -> {png_path}")
        for item in items:
            print(f"  {item['text']}\trec {item['rec_score']:.3f}\tdet {item['det_score']:.3f}\t{item['points']}")
        found = [{"transcription": i["text"], "points": i["points"]} for i in items]
        lines.append(f"{path}\t{json.dumps(found, ensure_ascii=False)}\n")
    with open(os.path.join(args.out, "system_results.txt"), "w", encoding="utf-8") as f:
        f.writelines(lines)
    print(f"results: {os.path.abspath(args.out)} ({len(paths)} image(s))")
    return 0
