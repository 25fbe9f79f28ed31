"""``ppexp eval -c cfg.yml -o Global.checkpoints=...``: metrics of a trained model on the Eval set.

``--model_dir DIR``: metrics of an exported model instead, reading the Eval set the way PaddleOCR 3's
TextRecognition reads images (inference.yml's steps, the inference width rule): the accuracy the
deployed model gets.
"""
import json

from ppexp.commands.common import add_config_args, load_run_config, select_device, setup_run_logging


def add_parser(subparsers):
    parser = subparsers.add_parser("eval", help="evaluate a trained model on the config's Eval set")
    add_config_args(parser)
    parser.add_argument("--json", help="also write the metrics to this JSON file")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print the first N predictions with their labels")
    parser.add_argument("--model_dir", help="evaluate this exported model (ppexp export) instead of the "
                                            "config's checkpoint")
    parser.set_defaults(func=run)
    return parser


def run(args):
    import logging

    from ppexp.engine.runtime import prepare_runtime

    prepare_runtime()
    config = load_run_config(args)
    setup_run_logging(config, log_name=None)
    select_device(config)
    from ppexp.data.loader import build_dataloader
    from ppexp.engine.evaluator import evaluate
    from ppexp.engine.predictor import load_trained

    if args.model_dir:
        model, post_process, metric, config, path = _exported(config, args.model_dir)
        loss = None
    else:
        parts, path = load_trained(config)
        model, post_process, metric, loss = parts.model, parts.post_process, parts.metric, parts.loss
    loader, dataset = build_dataloader(config, "Eval", charset=post_process.charset)
    log = logging.getLogger("ppexp")
    log.info("evaluating %s on %d samples", path, len(dataset))
    result = evaluate(model, loader, post_process, metric, loss, examples=args.show)
    examples = result.pop("examples", [])
    for pred, label in examples:
        log.info("%s %s | label %s", "OK " if pred == label else "ERR", pred, label)
    drops = dataset.drops.snapshot()
    if drops:
        log.warning("eval samples replaced: %s (run `ppexp check-labels`)", drops)
    for key, value in result.items():
        log.info("%s:%s", key, value)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(result, weights=path, samples=len(dataset), replaced=drops), f, indent=2)
    return 0


def _exported(config, model_dir):
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
    return model, post_process, metric, eval_config_for_exported(config, model_dir), f"exported model {model_dir}"
