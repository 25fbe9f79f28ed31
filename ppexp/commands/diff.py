"""``ppexp diff A.yml B.yml [--format md|text|json]``: changed hyper-parameters as ``key | A | B``."""
import os


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "diff", help="changed hyper-parameters between two configs (or run directories)",
        description="Changed hyper-parameters between two configs, keys in PaddleOCR's dotted form. Omitted keys "
                    "take their defaults; transforms are compared by name and arguments.")
    parser.add_argument("a", help="config YAML, or a run directory holding config.yml")
    parser.add_argument("b", help="config YAML, or a run directory holding config.yml")
    parser.add_argument("--format", choices=("md", "text", "json"), default="md")
    parser.add_argument("--ignore", action="append", default=[], metavar="PATTERN",
                        help="leave out keys matching this glob, e.g. 'Global.save_*' (repeatable)")
    parser.set_defaults(func=run)
    return parser


def _label(path):
    path = path.rstrip("/\\")
    return os.path.basename(path) or path


def run(args):
    from ppexp.experiments.analysis.config_diff import diff_configs, format_diff, load_for_diff

    a, b = load_for_diff(args.a), load_for_diff(args.b)
    rows = diff_configs(a, b, ignore=args.ignore)
    names = (_label(args.a), _label(args.b))
    if names[0] == names[1]:
        names = (args.a, args.b)
    print(format_diff(rows, args.format, names))
    return 0
