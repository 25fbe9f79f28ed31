"""``ppexp synth-plates``: render a synthetic Korean licence-plate dataset (PaddleOCR format)."""
import os

from ppexp.errors import UsageError
from ppexp.experiments.synth.kinds import KIND_NAMES
from ppexp.experiments.synth.render import DEFAULT_HEIGHT, DEFAULT_TWO_LINE_RATIO


def _kinds(values):
    out = []
    for v in values or ():
        out.extend(k.strip() for k in v.split(",") if k.strip())
    return out or None


def add_parser(subparsers):
    p = subparsers.add_parser(
        "synth-plates", help="render synthetic Korean licence plates (train.txt / val.txt)",
        description=__doc__ + " Set Global.data_dir to OUT and "
        "Global.character_dict_path to ppexp/dicts/kr_plate_dict.txt.")
    p.add_argument("--out", required=True, help="output folder (images/, train.txt, val.txt)")
    p.add_argument("--num", type=int, required=True, help="number of plates")
    p.add_argument("--seed", type=int, default=0, help="same seed -> identical dataset (default 0)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share written to val.txt (default 0.1)")
    p.add_argument("--kinds", nargs="+", metavar="KIND",
                   help=f"plate kinds (space or comma separated; default all): {', '.join(KIND_NAMES)}")
    p.add_argument("--two-line-ratio", type=float, default=DEFAULT_TWO_LINE_RATIO,
                   help=f"share of two-line plates (default {DEFAULT_TWO_LINE_RATIO})")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    p.add_argument("--height", type=int, default=DEFAULT_HEIGHT, help=f"crop height (default {DEFAULT_HEIGHT})")
    p.add_argument("--width", type=int, default=None, help="fixed crop width (default: the plate's own aspect)")
    p.add_argument("--clean", action="store_true",
                   help="flat, front-facing, tightly cropped plates without camera effects "
                        "(a warm-up set for training from scratch)")
    p.add_argument("--clean-ratio", type=float, default=0.0, metavar="R",
                   help="share of plates drawn clean (--clean's look) inside a realistic set, e.g. 0.2: "
                        "an easy part that gets a model trained from scratch off CTC's blank plateau")
    p.add_argument("--joinable", action="store_true",
                   help="draw two-line plates only as crops TwoLineToOneLine joins into one line (a plate whose "
                        "line gap it does not find is redrawn): training data for a one-row model "
                        "(Architecture.Neck rows: 1, configs/rec/plates_demo.yml)")
    p.add_argument("--det", action="store_true",
                   help="detection scenes instead of plate crops: road, cars, 1-3 plates (20-200 px wide, "
                        "in perspective), unlabelled signs; det label lines (configs/det/det_plates_demo.yml). "
                        "--width is then the scene width (default 384-640 per scene)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args):
    from ppexp.experiments.synth.dataset import generate_dataset

    if args.det:
        return _run_det(args)
    s = generate_dataset(args.out, args.num, seed=args.seed, val_fraction=args.val_fraction,
                         kinds=_kinds(args.kinds), two_line_ratio=args.two_line_ratio,
                         workers=args.workers, progress=not args.no_progress,
                         height=args.height, width=args.width,
                         clean=True if args.clean else args.clean_ratio, joinable=args.joinable)
    kinds = ", ".join(f"{k} {n}" for k, n in s["kind_counts"].items())
    print(f"wrote {s['num']} plates to {os.path.abspath(args.out)} in {s['seconds']:.1f}s "
          f"({s['plates_per_s']:.0f}/s, {s['workers']} workers)")
    print(f"  train.txt {s['train']}  val.txt {s['val']}  two-line {s['two_line']}  kinds: {kinds}")
    print(f"  Global.data_dir: {args.out}   Global.character_dict_path: ppexp/dicts/kr_plate_dict.txt")
    return 0


def _run_det(args):
    from ppexp.experiments.synth.det_dataset import generate_det_dataset

    if args.clean or args.clean_ratio or args.joinable or args.height != DEFAULT_HEIGHT:
        raise UsageError("--clean, --clean-ratio, --joinable and --height apply to plate crops, not to --det scenes; "
                         "leave them out with --det (--width sets the scene width)")
    s = generate_det_dataset(args.out, args.num, seed=args.seed, val_fraction=args.val_fraction,
                             kinds=_kinds(args.kinds), two_line_ratio=args.two_line_ratio,
                             workers=args.workers, progress=not args.no_progress, width=args.width)
    print(f"wrote {s['num']} detection scenes to {os.path.abspath(args.out)} in {s['seconds']:.1f}s "
          f"({s['scenes_per_s']:.1f}/s, {s['workers']} workers)")
    print(f"  train.txt {s['train']}  val.txt {s['val']}  plates {s['plates']}  '###' boxes {s['ignored_boxes']}")
    print(f"  Train/Eval.dataset.data_dir: {args.out}   label_file_list: [{args.out}/train.txt] / [{args.out}/val.txt]")
    return 0
