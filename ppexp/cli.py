"""The ``ppexp`` command line: one sub-command per module listed in COMMANDS.

Each command module defines ``add_parser(subparsers)`` which registers its
sub-parser and sets ``func`` (called with the parsed args; returns an exit code).
"""
import argparse
import importlib
import sys

from ppexp.errors import error_line, exit_code_of

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



def main(argv=None, process_entry=None):
    """Run a sub-command. ``process_entry`` (default: argv is None, i.e. the real command line)
    allows process-level setup such as re-exec'ing or forking CPU workers; library and test
    callers passing argv get none of it."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.process_entry = argv is None if process_entry is None else process_entry
    if args.process_entry:
        from ppexp.engine.cpu_setup import use_fast_mkl

        use_fast_mkl()  # MKL's AVX2 path on AMD CPUs: eval / predict / export compute faster too
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Exception as err:  # noqa: BLE001 - re-raised unless it is a user-facing error (ppexp.errors)
        code = exit_code_of(err)
        if code is None:
            raise
        print(error_line(args.command, err), file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
