"""The ``ppexp`` command line: one sub-command per module listed in COMMANDS.

Each command module defines ``add_parser(subparsers)`` which registers its
sub-parser and sets ``func`` (called with the parsed args; returns an exit code).
"""
import argparse
import importlib
import sys

COMMANDS = [
    "ppexp.commands.train",
    "ppexp.commands.evaluate",
    "ppexp.commands.export",
    "ppexp.commands.predict",
    "ppexp.commands.ocr",
    "ppexp.commands.synth_plates",
    "ppexp.commands.diff",
    "ppexp.commands.compare",
    "ppexp.commands.diagnose",
    "ppexp.commands.report",
    "ppexp.commands.check_labels",
    "ppexp.commands.reset",
    "ppexp.commands.doctor",
    "ppexp.commands.lmdb",
    "ppexp.commands.aug_preview",
    "ppexp.commands.tune",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ppexp", description="PaddleOCR-compatible text-recognition training and experiment tools")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMANDS:
        importlib.import_module(mod).add_parser(sub)
    return parser


# Errors that describe a problem with the user's input: printed as one clear line, not a traceback.
USER_ERRORS = {"ConfigError": 2, "DatasetError": 1, "NonFiniteLoss": 1, "FileNotFoundError": 1,
               "UnsafeCheckpointError": 1, "FontNotFoundError": 2, "CheckpointError": 1, "CheckpointSaveError": 1,
               "RunLockedError": 1, "RunDirError": 1, "SpaceError": 2}


def main(argv=None, process_entry=None):
    """Run a sub-command. ``process_entry`` (default: argv is None, i.e. the real command line)
    allows process-level setup such as re-exec'ing or forking CPU workers; library and test
    callers passing argv get none of it."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.process_entry = argv is None if process_entry is None else process_entry
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Exception as err:  # noqa: BLE001 - re-raised unless it is a known user-facing error
        code = USER_ERRORS.get(type(err).__name__)
        if code is None:
            raise
        print(f"ppexp {args.command}: error: {err}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
