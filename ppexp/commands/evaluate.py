"""``ppexp eval -c cfg.yml -o Global.checkpoints=...``: metrics of a trained model on the Eval set.

``--model_dir DIR``: metrics of an exported model instead, reading the Eval set the way PaddleOCR 3's
TextRecognition reads images (inference.yml's steps, the inference width rule): the accuracy the
deployed model gets. With a det config and a det export: hmean / precision / recall of the export, each
image resized by inference.yml's DetResizeForTest and post-processed with its DBPostProcess settings.
"""
import json

from ppexp.commands.common import add_config_args, load_run_config
from ppexp.engine.loggers import setup_run_logging
from ppexp.errors import UsageError


def add_parser(subparsers):
    parser = subparsers.add_parser("eval", help="evaluate a trained model on the config's Eval set")
    add_config_args(parser)
    parser.add_argument("--json", help="also write the metrics to this JSON file")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print the first N predictions with their labels")
    parser.add_argument("--errors", action="store_true",
                        help="accuracy per plate group (label pattern), every error with its image file, and the "
                             "most frequent character confusions (also written to --json)")
    parser.add_argument("--groups", metavar="FILE",
                        help="image<TAB>group lines (e.g. one-line / two-line) for more accuracy groups; implies --errors")
    parser.add_argument("--max-errors", type=int, default=100, metavar="N",
                        help="print at most N errors with --errors (all of them go to --json; default 100)")
    parser.add_argument("--model_dir", help="evaluate this exported model (ppexp export) instead of the "
                                            "config's checkpoint")
    parser.add_argument("--input-shape", metavar="C,H,W",
                        help="with --model_dir (rec): resize every image to exactly this shape, as "
                             "TextRecognition(input_shape=...) does; default: PaddleX's width rule")
    parser.set_defaults(func=run)
    return parser


def run(args):
    import logging

    from ppexp.engine.runtime import prepare_runtime, select_device

    prepare_runtime()
    config = load_run_config(args)
    setup_run_logging(config, log_name=None)
    select_device(config)
    from ppexp.data.loader import build_dataloader
    from ppexp.engine.evaluator import evaluate, log_skipped
    from ppexp.engine.predictor import load_trained

    from ppexp.engine.builder import is_det

    from ppexp.engine.deployed import parse_input_shape

    input_shape = parse_input_shape(args.input_shape, applies=bool(args.model_dir) and not is_det(config))
    if args.model_dir and is_det(config):
        if args.errors or args.groups:
            raise UsageError("ppexp eval: --errors/--groups report recognition errors; a det model gives "
                             "hmean, precision and recall")
        model, post_process, metric, config, path = _exported_det(config, args.model_dir)
        loss = None
    elif args.model_dir:
        model, post_process, metric, config, path = _exported(config, args.model_dir, input_shape)
        loss = None
    else:
        parts, path = load_trained(config)
        model, post_process, metric, loss = parts.model, parts.post_process, parts.metric, parts.loss
        loss = None if is_det(config) else loss   # det eval batches carry no label maps
    loader, dataset = build_dataloader(config, "Eval", charset=getattr(post_process, "charset", None))
    log = logging.getLogger("ppexp")
    log.info("evaluating %s on %d samples", path, len(dataset))
    details = bool(args.errors or args.groups)
    result = evaluate(model, loader, post_process, metric, loss, examples=-1 if details else args.show)
    examples = result.pop("examples", [])
    for pred, label in examples[:args.show]:
        log.info("%s %s | label %s", "OK " if pred == label else "ERR", pred, label)
    log_skipped(result, log)
    for key, value in result.items():
        log.info("%s:%s", key, value)
    extra = {}
    if details:
        extra = _error_details(args, dataset, examples, result.get("skipped", 0))
        from ppexp.experiments.analysis.rec_errors import format_error_report

        for line in format_error_report(extra, max_errors=args.max_errors):
            log.info("%s", line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(result, weights=path, **extra), f, indent=2, ensure_ascii=False)
    return 0


def _error_details(args, dataset, pairs, skipped):
    """error_report over (file, label, prediction); files are known when no sample was skipped."""
    from ppexp.experiments.analysis.rec_errors import error_report, read_group_file

    files = [None] * len(pairs)
    samples = getattr(dataset, "samples", None)
    if samples is not None and not skipped and len(samples) == len(pairs):
        files = [sample[2] for sample in samples]
    groups = read_group_file(args.groups) if args.groups else None
    return error_report([(f, label, pred) for f, (pred, label) in zip(files, pairs)], groups)


def _exported(config, model_dir, input_shape=None):
    """(model, post_process, metric, Eval config, description) for ``--model_dir``."""
    from ppexp.engine.builder import build_components
    from ppexp.engine.deployed import eval_config_for_exported, load_exported
    from ppexp.postprocess import build_post_process
    from ppexp.utils.character import CharacterDict

    model, _, charset = load_exported(model_dir)
    own = CharacterDict.from_config(config["Global"])
    if own.characters != charset.characters:
        raise ValueError(f"{model_dir}/inference.yml's dictionary ({len(charset.characters)} characters) is not "
                         f"the config's Global.character_dict_path ({len(own.characters)}); evaluate with the "
                         "config the model was exported from")
    metric = build_components(config).metric
    post_process = build_post_process({"name": "CTCLabelDecode"}, {}, charset=charset)
    return (model, post_process, metric, eval_config_for_exported(config, model_dir, input_shape),
            f"exported model {model_dir}")


def _exported_det(config, model_dir):
    """(model, post_process, metric, Eval config, description) for ``--model_dir`` on a det export."""
    from ppexp.engine.builder import build_components
    from ppexp.engine.det_predictor import det_eval_config_for_exported, is_det_export, load_exported_det

    if not is_det_export(model_dir):
        raise UsageError(f"{model_dir}: not an exported det model (its inference.yml PostProcess is not "
                         "DBPostProcess); evaluate it with the recognition config it was exported from")
    model, _, post_process = load_exported_det(model_dir)
    metric = build_components(config).metric
    return model, post_process, metric, det_eval_config_for_exported(config, model_dir), f"exported model {model_dir}"
