"""``ppexp predict -c cfg.yml -o Global.infer_img=PATH [Global.checkpoints=...]``: recognise images
(or, for a det config / exported det model, detect text boxes: ppexp/commands/predict_det.py).

``--model_dir DIR`` runs an exported model instead (no -c needed), as PaddleOCR 3's
TextRecognition does; both use the inference width rule (ppexp/data/imaug/rec_resize.py).
"""
import os

from ppexp.commands.common import add_config_args, flat_overrides, load_run_config
from ppexp.engine.loggers import setup_run_logging
from ppexp.errors import UsageError


def add_parser(subparsers):
    parser = subparsers.add_parser("predict", help="recognise an image or a folder of images")
    add_config_args(parser, required=False)
    parser.add_argument("--image", help="image file or folder (default: Global.infer_img)")
    parser.add_argument("--model_dir", help="an exported model (ppexp export) to run instead of the "
                                            "config's checkpoint")
    parser.add_argument("--input-shape", metavar="C,H,W",
                        help="with --model_dir (rec): resize every image to exactly this shape, as "
                             "TextRecognition(input_shape=...) does; default: PaddleX's width rule")
    parser.add_argument("--out", help="det models: folder for <image>.json (boxes, scores) and <image>.png (boxes "
                                      "drawn); default <dir of Global.save_res_path>/det_results")
    parser.set_defaults(func=run)
    return parser


def _load(args, config, input_shape=None):
    """(model, post_process, inference transforms)."""
    from ppexp.engine.predictor import infer_ops, load_trained

    if args.model_dir:
        from ppexp.engine.deployed import load_exported
        from ppexp.postprocess import build_post_process

        model, ops, charset = load_exported(args.model_dir, input_shape)
        return model, build_post_process({"name": "CTCLabelDecode"}, {}, charset=charset), ops
    parts, _ = load_trained(config)
    return parts.model, parts.post_process, infer_ops(config, parts.charset)


def run(args):
    if not args.config and not args.model_dir:
        raise UsageError("give -c CONFIG (a trained checkpoint) or --model_dir DIR (an exported model)")
    if args.config:
        config = load_run_config(args)
    else:  # --model_dir alone: -o may still set Global.infer_img / save_res_path
        from ppexp.config import merge_overrides

        config = merge_overrides({"Global": {}}, flat_overrides(args.opt))
    log = setup_run_logging(config, log_name=None)
    import paddle

    paddle.set_device("cpu")
    from ppexp.engine.predictor import list_images, predict_images

    target = args.image or config["Global"].get("infer_img")
    if not target:
        raise UsageError("no image given: pass --image PATH or -o Global.infer_img=PATH")
    paths = list_images(target)     # a wrong path fails before a model is loaded
    from ppexp.engine.written import record_output

    from ppexp.commands.predict_det import wants_det

    from ppexp.engine.deployed import parse_input_shape

    input_shape = parse_input_shape(args.input_shape, applies=bool(args.model_dir) and not wants_det(args, config))
    if wants_det(args, config):
        from ppexp.commands.predict_det import run_det

        return run_det(args, config, paths, log)
    results = predict_images(*_load(args, config, input_shape), paths)
    out_path = config["Global"].get("save_res_path")
    lines = [f"{path}\t{text}\t{score:.4f}" for path, text, score in results]
    for path, text, score in results:
        log.info("infer_img: %s", path)
        log.info("\t result: %s\t%.4f", text, score)
    if out_path:
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
        with open(out_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        record_output(config, out_path)   # so that `ppexp reset` knows ppexp wrote it
        log.info("results written to %s", out_path)
    return 0
