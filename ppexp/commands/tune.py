"""``ppexp tune -c cfg.yml --space space.yml --trials N [...]`` and ``ppexp tune --report STUDY``."""
import sys

from ppexp.commands.common import add_config_args, flat_overrides


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "tune", help="hyper-parameter search with Optuna (each trial is a normal ppexp run)",
        description="Search the keys of space.yml with Optuna. Each trial is a `ppexp train` run with the sampled "
                    "values as -o overrides, in <out>/trial_NNNN/. The study lives in --storage (default "
                    "sqlite:///<out>/study.db); re-running the same command resumes it, and several ppexp tune "
                    "processes on one PostgreSQL storage share it. Needs: pip install -e '.[tune]'.")
    add_config_args(parser, required=False)
    parser.add_argument("--space", metavar="SPACE.yml", help="dotted config keys -> distributions")
    parser.add_argument("--trials", type=int, help="trials the study should hold (complete, pruned or failed)")
    parser.add_argument("--storage", metavar="URL", help="sqlite:///study.db or postgresql://user:pw@host/db")
    parser.add_argument("--study", metavar="NAME", help="study name (default: the config's file name)")
    parser.add_argument("--out", metavar="DIR", help="study directory (default ./output/tune/<study>)")
    parser.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe")
    parser.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median")
    parser.add_argument("--metric", help="eval metric to optimise (default Metric.main_indicator: acc, hmean, ...)")
    parser.add_argument("--direction", choices=("maximize", "minimize"), default="maximize")
    parser.add_argument("--timeout", type=float, metavar="S", help="start no new trial after S seconds")
    parser.add_argument("--jobs", type=int, default=1, metavar="J", help="local worker processes (default 1)")
    parser.add_argument("--seed", type=int, help="sampler seed (--jobs worker i gets seed + i; give each machine its own)")
    parser.add_argument("--enqueue", action="append", nargs="+", metavar="KEY=VALUE",
                        help="run these values as a trial first (repeat for several trials)")
    parser.add_argument("--report", metavar="STUDY", help="write the study's report instead of tuning")
    parser.add_argument("--worker", action="store_true", help=argparse_hidden())
    parser.set_defaults(func=run)
    return parser


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


def run(args):
    from ppexp.experiments.tune.study import TuneError

    try:
        if args.report:
            from ppexp.experiments.tune.report import write_report

            write_report(args.report, storage=args.storage, out=args.out, metric=args.metric)
            return 0
        if not args.config:
            raise TuneError("-c CONFIG is required (or --report STUDY)")
        if args.jobs < 1:
            raise TuneError(f"--jobs must be >= 1, got {args.jobs}")
        from ppexp.experiments.tune.tuner import run_tune

        argv = sys.argv[1:] if getattr(args, "process_entry", False) else None
        return run_tune(args, flat_overrides(args.opt), argv=argv)
    except KeyboardInterrupt:
        print("ppexp tune: interrupted; the running trial is recorded failed. Run the same command again to "
              "continue the study.", file=sys.stderr)
        return 130
