"""``ppexp compare RUN... [--metric EVAL/acc] [--plot out.png] [--format md|text|json]``."""
import sys


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "compare", help="one row per run: best eval metric, gap, speed; optional curves PNG",
        description="Compare training runs (Global.save_model_dir directories): best eval metric and its "
                    "step/epoch, best norm_edit_dis, final train acc, train-eval gap at best, steps to 90%% of "
                    "best, time, lr schedule.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    parser.add_argument("--metric", default=None,
                        help="eval series to rank by (default EVAL/<Metric.main_indicator>, i.e. EVAL/acc)")
    parser.add_argument("--plot", metavar="OUT.png", help="write eval metric / train acc / loss / lr curves here")
    parser.add_argument("--format", choices=("md", "text", "json"), default="md")
    parser.set_defaults(func=run)
    return parser


def run(args):
    from ppexp.experiments.analysis.compare import compare_rows, format_compare
    from ppexp.experiments.analysis.run_reader import read_runs

    runs = read_runs(args.runs)
    rows = compare_rows(runs, args.metric)
    metric = args.metric or (rows[0]["metric"] if rows else "EVAL/acc")
    print(format_compare(rows, args.format, metric))
    if args.plot:
        from ppexp.experiments.analysis.plots import compare_figure

        compare_figure(runs, args.plot, metric)
        print(f"curves written to {args.plot}", file=sys.stderr)
    return 0
