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
    "ppexp.commands.synth_plates",
]


def build_parser():
    parser = argparse.ArgumentParser(prog="ppexp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMANDS:
        importlib.import_module(mod).add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
