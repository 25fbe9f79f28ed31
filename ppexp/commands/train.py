"""``ppexp train -c cfg.yml [-o Key=value ...]``: train a recognizer."""
from ppexp.commands.common import add_config_args, load_run_config


def add_parser(subparsers):
    parser = subparsers.add_parser("train", help="train a recognition model from a PaddleOCR config")
    add_config_args(parser)
    parser.set_defaults(func=run)
    return parser


def run(args):
    import os

    from ppexp.config_defaults import save_model_dir
    from ppexp.engine.run_lock import run_lock

    config = load_run_config(args)  # before paddle is imported: the CPU plan may re-exec or fork workers
    if os.environ.get("PADDLE_TRAINER_ID", "0") != "0":
        return _run(args, config)
    with run_lock(save_model_dir(config)):  # before train.log is opened
        return _run(args, config)


def _run(args, config):
    from ppexp.engine.runtime import start_training_process

    start_training_process(config, cpu_plan=getattr(args, "process_entry", False))
    from ppexp.engine.trainer import train

    train(config, args.config)
    return 0
