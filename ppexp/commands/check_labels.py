"""`ppexp check-labels`: validate label files the way PaddleOCR's pipeline will read them.

Exit codes: 0 clean (warnings allowed unless --strict), 1 errors found, 2 usage error.
"""
import argparse

HELP = ("validate labels (encode -> decode round trip, Unicode, lengths, CTC feasibility, images, dictionary; "
        "det: box JSON, points, areas, image bounds)")
EPILOG = """examples:
  ppexp check-labels -c configs/rec/my_plates.yml
  ppexp check-labels --label-file train.txt --dict dict.txt --data-dir data/ --json report.json
  ppexp check-labels --label-file train.txt --eval-label-file val.txt --dict dict.txt --no-images --fix clean.txt
  ppexp check-labels --det --label-file det_train.txt --data-dir images/ --json det_report.json

exit codes: 0 clean, 1 errors found (or warnings with --strict), 2 usage error"""


def add_parser(subparsers):
    p = subparsers.add_parser("check-labels", help=HELP, description=HELP, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("what to check")
    src.add_argument("-c", "--config", help="training config: checks its Train and Eval datasets")
    src.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                     help="config override, e.g. Global.max_text_length=30 (repeatable)")
    src.add_argument("--label-file", action="append", dest="label_files", metavar="FILE",
                     help="label file (path<delimiter>label per line); repeatable")
    src.add_argument("--eval-label-file", action="append", dest="eval_label_files", metavar="FILE",
                     help="evaluation label file: also checked for Train/Eval leakage; repeatable")
    src.add_argument("--det", action=argparse.BooleanOptionalAction, default=None,
                     help="detection labels (JSON box lists; default: on when the config uses DetLabelEncode)")
    src.add_argument("--dict", dest="dict_path", metavar="FILE", help="character dictionary (default: 0-9a-z)")
    src.add_argument("--data-dir", help="directory the image paths are relative to")
    src.add_argument("--max-text-length", type=int, help="Global.max_text_length (default 25)")
    src.add_argument("--use-space-char", action=argparse.BooleanOptionalAction, default=None,
                     help="Global.use_space_char (default: the config's, else off)")
    src.add_argument("--image-shape", metavar="C,H,W", help="RecResizeImg image_shape (default 3,32,100)")
    src.add_argument("--delimiter", metavar="DELIM", help="column delimiter: TAB (default), SPACE or a character")
    src.add_argument("--stride", type=int, help="backbone width reduction (default 4: T = width // 4)")
    src.add_argument("--time-steps", type=int, help="CTC time steps T (overrides width // stride)")
    run = p.add_argument_group("how")
    run.add_argument("--images", action=argparse.BooleanOptionalAction, default=True,
                     help="decode every image in parallel (default: on)")
    run.add_argument("--workers", type=int, default=0, help="image decoding threads (default: one per CPU)")
    run.add_argument("--max-squash", type=float, default=2.0,
                     help="warn when RecResizeImg compresses text horizontally more than this (default 2.0)")
    run.add_argument("--json", metavar="REPORT.json", help="write the full JSON report")
    run.add_argument("--fix", metavar="OUT", help="write a cleaned label file (a directory for several files)")
    run.add_argument("--max-examples", type=int, default=20, help="examples per category (0 = all; default 20)")
    run.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("-q", "--quiet", action="store_true", help="print only the verdict line")
    p.set_defaults(func=run_command)
    return p


def build_settings(args):
    from ppexp.experiments.labels.settings import CheckSettings, apply_cli, settings_from_config

    cli = dict(label_files=args.label_files, eval_label_files=args.eval_label_files, data_dir=args.data_dir,
               delimiter=args.delimiter, image_shape=args.image_shape, dict_path=args.dict_path,
               max_text_length=args.max_text_length, use_space_char=args.use_space_char, stride=args.stride,
               time_steps=args.time_steps, images=args.images, workers=args.workers, max_squash=args.max_squash,
               max_examples=args.max_examples, strict=args.strict, progress=not args.no_progress,
               fix=args.fix, json=args.json, det=args.det)
    if args.config:
        return settings_from_config(args.config, args.opt, **cli)
    if args.opt:
        from ppexp.experiments.labels.settings import UsageError
        raise UsageError("-o needs -c config.yml")
    return apply_cli(CheckSettings(sources=[]), **cli)


def run_command(args):
    from ppexp.experiments.labels import run_check
    from ppexp.experiments.labels.fixer import run_fix
    from ppexp.experiments.labels.report import to_text, verdict, write_json

    settings = build_settings(args)
    result = run_check(settings)
    if settings.fix:
        fix = run_fix(result, settings.fix)
    if settings.json:
        write_json(result, settings.json)
    if args.quiet:
        print(verdict(result.report))
    else:
        print(to_text(result, ))
    if settings.fix:
        kept = sum(o["kept"] for o in fix["outputs"])
        print(f"\n--fix: wrote {', '.join(o['output'] for o in fix['outputs'])} ({kept:,} lines kept, "
              f"{len(fix['dropped']):,} dropped; list in {fix['dropped_list']})")
        limit = settings.max_examples or len(fix["dropped"])
        for d in fix["dropped"][:limit]:
            print(f"  dropped {d['file']}:{d['line']}: {d['reason']}")
        if len(fix["dropped"]) > limit:
            print(f"  ... {len(fix['dropped']) - limit:,} more in {fix['dropped_list']}")
    if settings.json:
        print(f"JSON report: {settings.json}")
    return result.exit_code
