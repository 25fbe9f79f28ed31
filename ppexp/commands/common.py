"""Shared CLI plumbing: -c/-o arguments, config loading with friendly errors, runtime setup."""
import logging
import os

from ppexp.config_defaults import save_model_dir


def add_config_args(parser, required=True):
    parser.add_argument("-c", "--config", required=required, help="config YAML (PaddleOCR schema)")
    parser.add_argument("-o", "--opt", action="append", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config keys, e.g. -o Global.epoch_num=2 Train.loader.num_workers=0")


def flat_overrides(opt_groups):
    return [item for group in opt_groups or [] for item in group]


def load_run_config(args):
    """get_config() with warnings logged (a ConfigError reaches the CLI: exit code 2 with the message)."""
    from ppexp.config import get_config

    config, warnings = get_config(args.config, flat_overrides(args.opt))
    for warning in warnings:
        logging.getLogger("ppexp").warning(warning)
    return config


def setup_run_logging(config, log_name="train.log"):
    """Console + <save_model_dir>/<log_name> on rank 0."""
    import paddle

    from ppexp.engine.loggers import setup_logger

    save_dir = save_model_dir(config)
    log_file = os.path.join(save_dir, log_name) if log_name else None
    return setup_logger(log_file, paddle.distributed.get_rank())


def select_device(config):
    """use_gpu when possible; on a CPU build say that use_gpu is ignored."""
    import paddle

    g = config.get("Global") or {}
    want_gpu = bool(g.get("use_gpu", False))
    if want_gpu and paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        paddle.set_device(f"gpu:{paddle.distributed.ParallelEnv().dev_id}")
    else:
        if want_gpu:
            logging.getLogger("ppexp").info("Global.use_gpu is True but no GPU is available: running on CPU")
        paddle.set_device("cpu")
