"""``ppexp train -c cfg.yml [-o Key=value ...]``: train a recognizer."""
from ppexp.commands.common import add_config_args, load_run_config, select_device, setup_run_logging


def add_parser(subparsers):
    parser = subparsers.add_parser("train", help="train a recognition model from a PaddleOCR config")
    add_config_args(parser)
    parser.set_defaults(func=run)
    return parser


def run(args):
    from ppexp.engine.runtime import prepare_runtime

    prepare_runtime()
    config = load_run_config(args)
    setup_run_logging(config)
    select_device(config)
    from ppexp.engine.trainer import train

    train(config, args.config)
    return 0
