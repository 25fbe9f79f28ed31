"""``ppexp ocr --det-model-dir D --rec-model-dir R --image PATH [--out DIR]``: detect, crop, recognise.

Both directories are exports (``ppexp export``), as upstream's predict_system takes det_model_dir and
rec_model_dir. Prints one line per text (text, recognition score, detection score, box) and writes
``<image>.json`` and ``<image>.png`` (boxes and texts drawn) per image into --out, plus
``system_results.txt`` (upstream's ``path<TAB>[{"transcription", "points"}]`` lines).
``--labels FILE`` (det label lines, e.g. ``ppexp synth-plates --det``'s val.txt) runs on its images
and reports the end-to-end exact-match rate (``summary.json``).
"""
import json
import os


def add_parser(subparsers):
    p = subparsers.add_parser("ocr", help="detect and recognise text with exported det + rec models",
                              description=__doc__)
    p.add_argument("--det-model-dir", required=True, help="exported DB detector (ppexp export -c configs/det/...)")
    p.add_argument("--rec-model-dir", required=True, help="exported recogniser (ppexp export -c configs/rec/...)")
    p.add_argument("--image", help="image file or folder of images")
    p.add_argument("--labels", metavar="FILE", help="det label file: run on its images and report the share of "
                                                    "labelled texts read exactly (box IoU > 0.5, same text)")
    p.add_argument("--data-dir", help="with --labels: folder the image paths are relative to (default: its folder)")
    p.add_argument("--out", default="./output/ocr", help="folder for JSON + PNG per image (default ./output/ocr)")
    p.add_argument("--drop-score", type=float, default=0.5,
                   help="leave out texts recognised with a lower score (upstream's drop_score, default 0.5)")
    p.add_argument("--rec-input-shape", metavar="C,H,W",
                   help="resize every crop to exactly this shape for recognition, as TextRecognition(input_shape="
                        "...) does (e.g. 3,64,192 for the shipped plate recogniser); default: PaddleX's width rule")
    p.set_defaults(func=run)
    return p


def _targets(args):
    """[(image path, labelled boxes or None)]."""
    if args.labels:
        from ppexp.engine.ocr_eval import read_label_file

        return read_label_file(args.labels, args.data_dir)
    from ppexp.engine.predictor import list_images

    return [(path, None) for path in list_images(args.image)]


def run(args):
    import paddle

    paddle.set_device("cpu")
    from ppexp.engine.ocr_eval import match_texts
    from ppexp.engine.ocr_pipeline import Detector, Recognizer, ocr_image, write_ocr_outputs

    if not args.image and not args.labels:
        print("ppexp ocr: error: give --image PATH (file or folder) or --labels FILE")
        return 2
    try:
        targets = _targets(args)
        from ppexp.engine.deployed import parse_input_shape

        shape = parse_input_shape(args.rec_input_shape, "--rec-input-shape")
        detector, recognizer = Detector(args.det_model_dir), Recognizer(args.rec_model_dir, shape)
    except ValueError as err:
        print(f"ppexp ocr: error: {err}")
        return 2
    lines, total, read = [], 0, 0
    for path, boxes in targets:
        img, items = ocr_image(path, detector, recognizer, args.drop_score)
        json_path, png_path = write_ocr_outputs(path, img, items, args.out)
        print(f"{path}: {len(items)} text(s) -> {png_path}")
        for item in items:
            print(f"  {item['text']}\trec {item['rec_score']:.3f}\tdet {item['det_score']:.3f}\t{item['points']}")
        if boxes is not None:
            n, k = match_texts(boxes, items)
            total, read = total + n, read + k
        found = [{"transcription": i["text"], "points": i["points"]} for i in items]
        lines.append(f"{path}\t{json.dumps(found, ensure_ascii=False)}\n")
    with open(os.path.join(args.out, "system_results.txt"), "w", encoding="utf-8") as f:
        f.writelines(lines)
    if args.labels:
        rate = read / total if total else 0.0
        with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
            json.dump({"labels": args.labels, "images": len(targets), "texts": total, "read_exactly": read,
                       "exact_match": rate}, f, indent=1)
        print(f"end-to-end exact match: {read}/{total} labelled texts = {rate:.3f}")
    print(f"results: {os.path.abspath(args.out)} ({len(targets)} image(s))")
    return 0
