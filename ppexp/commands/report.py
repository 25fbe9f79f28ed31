"""``ppexp report RUN... --out report.md``: Markdown experiment report with curves and diagnosis."""

def add_parser(subparsers):
    parser = subparsers.add_parser(
        "report", help="Markdown report of runs: summary, config changes, curves (PNG), diagnosis",
        description="Write a Markdown experiment report (readable on GitHub) with PNG curves next to it. Runs are "
                    "listed in the order given; each run's config is diffed against the previous one.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories, oldest first")
    parser.add_argument("--out", required=True, metavar="REPORT.md")
    parser.add_argument("--title", default=None)
    parser.add_argument("--metric", default=None, help="eval series to rank by (default EVAL/acc)")
    parser.set_defaults(func=run)
    return parser


def run(args):
    from ppexp.experiments.analysis.report import write_report
    from ppexp.experiments.analysis.run_reader import read_runs

    runs = read_runs(args.runs)
    files = write_report(runs, args.out, args.title, args.metric)
    print(f"report written to {files[0]} ({len(files) - 1} PNG file(s) next to it)")
    return 0
