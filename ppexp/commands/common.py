"""Shared CLI plumbing: -c/-o arguments and config loading (runtime setup: ppexp.engine.runtime / loggers)."""
import logging


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
