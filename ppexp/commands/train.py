"""``ppexp train -c cfg.yml [-o Key=value ...]``: train a recognizer."""
from ppexp.commands.common import add_config_args, load_run_config, select_device, setup_run_logging


def add_parser(subparsers):
    parser = subparsers.add_parser("train", help="train a recognition model from a PaddleOCR config")
    add_config_args(parser)
    parser.set_defaults(func=run)
    return parser


def gpu_requested(global_cfg):
    """use_gpu with a GPU build of paddle installed (checked without importing paddle)."""
    if not global_cfg.get("use_gpu", False):
        return False
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("paddlepaddle-gpu")
        return True
    except PackageNotFoundError:
        return False


def run(args):
    import os

    from ppexp.config_defaults import save_model_dir
    from ppexp.engine.run_lock import run_lock

    config = load_run_config(args)  # before paddle is imported: the CPU plan may re-exec or fork workers
    g = config["Global"]
    if os.environ.get("PADDLE_TRAINER_ID", "0") != "0":
        return _run(args, config, g)
    with run_lock(save_model_dir(config)):  # before train.log is opened
        return _run(args, config, g)


def _run(args, config, g):
    if getattr(args, "process_entry", False) and not gpu_requested(g):
        from ppexp.engine.cpu_setup import ensure_cpu_runtime

        batch = ((config.get("Train") or {}).get("loader") or {}).get("batch_size_per_card")
        ensure_cpu_runtime(g.get("cpu_threads"), g.get("data_parallel", "auto"), batch_size=batch)
    from ppexp.engine.runtime import prepare_runtime

    prepare_runtime()
    setup_run_logging(config)
    select_device(config)
    from ppexp.engine.trainer import train

    train(config, args.config)
    return 0
