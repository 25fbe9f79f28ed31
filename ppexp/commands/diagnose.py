"""``ppexp diagnose RUN [--json] [--set name=value ...]``: findings with evidence and suggestions."""
import json

from ppexp.errors import UsageError


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "diagnose", help="find training problems in a run (stalled, over-fitting, gap, dead pipeline, ...)",
        description="Rule-based diagnosis of a run directory. See --rules for the rules and thresholds.")
    parser.add_argument("run", nargs="?", help="run directory (Global.save_model_dir)")
    parser.add_argument("--json", action="store_true", help="print findings and thresholds as JSON")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a threshold, e.g. --set gap_max=0.05 (repeatable)")
    parser.add_argument("--disable", action="append", default=[], metavar="RULE", help="skip a rule (repeatable)")
    parser.add_argument("--rules", action="store_true", help="list the rules and thresholds, then exit")
    parser.set_defaults(func=run)
    return parser


def _thresholds(items):
    from ppexp.experiments.analysis.diagnose import Thresholds

    values = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set {item}: expected NAME=VALUE")
        key, value = item.split("=", 1)
        values[key.strip()] = value.strip()
    return Thresholds().override(**values)


def run(args):
    import dataclasses

    from ppexp.experiments.analysis.diagnose import RULES, diagnose, format_findings, rules_help
    from ppexp.experiments.analysis.run_reader import read_run

    try:
        th = _thresholds(args.set)
    except (KeyError, ValueError) as err:   # Thresholds.override names the key; shown without KeyError's quotes
        raise UsageError(err.args[0]) from err
    if args.rules:
        print(rules_help(th))
        return 0
    if not args.run:
        raise UsageError("give a run directory (or --rules)")
    unknown = [r for r in args.disable if r not in RULES]
    if unknown:
        raise UsageError(f"unknown rule(s) {unknown}; known: {', '.join(RULES)}")
    run_ = read_run(args.run)
    findings = diagnose(run_, th, disable=args.disable)
    if args.json:
        print(json.dumps({"run": run_.path, "findings": [f.as_dict() for f in findings],
                          "thresholds": dataclasses.asdict(th)}, indent=2, default=str))
    else:
        print(format_findings(run_, findings))
    return 0
