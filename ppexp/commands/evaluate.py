"""``ppexp eval -c cfg.yml -o Global.checkpoints=...``: metrics of a trained model on the Eval set."""
import json

from ppexp.commands.common import add_config_args, load_run_config, select_device, setup_run_logging


def add_parser(subparsers):
    parser = subparsers.add_parser("eval", help="evaluate a trained model on the config's Eval set")
    add_config_args(parser)
    parser.add_argument("--json", help="also write the metrics to this JSON file")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print the first N predictions with their labels")
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
    from ppexp.engine.evaluator import evaluate, log_skipped
    from ppexp.engine.predictor import load_trained

    parts, path = load_trained(config)
    loader, dataset = build_dataloader(config, "Eval", charset=parts.charset)
    log = logging.getLogger("ppexp")
    log.info("evaluating %s on %d samples", path, len(dataset))
    result = evaluate(parts.model, loader, parts.post_process, parts.metric, parts.loss,
                      examples=args.show)
    examples = result.pop("examples", [])
    for pred, label in examples:
        log.info("%s %s | label %s", "OK " if pred == label else "ERR", pred, label)
    log_skipped(result, log)
    for key, value in result.items():
        log.info("%s:%s", key, value)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(result, weights=path), f, indent=2)
    return 0
