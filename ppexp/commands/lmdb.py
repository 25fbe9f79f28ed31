"""``ppexp lmdb``: build a PaddleOCR-layout LMDB (for LMDBDataSet) from label files, checking every image."""

DELIMITER_NAMES = {"TAB": "\t", "\\t": "\t", "SPACE": " ", "COMMA": ","}


def add_parser(subparsers):
    p = subparsers.add_parser(
        "lmdb", help="build an LMDB dataset (upstream layout) from label files, checking every image",
        description=__doc__ + " Lines whose image is missing or does not decode, lines without the delimiter "
        "and empty labels are skipped and reported with file:line.")
    p.add_argument("--label-file", action="append", required=True, metavar="FILE",
                   help="label file of 'image_path<delimiter>label' lines (repeat for several; one database)")
    p.add_argument("--data-dir", default="", help="folder the image paths are relative to (default: current)")
    p.add_argument("--out", required=True, help="output folder for data.mdb (set Train.dataset.data_dir to it)")
    p.add_argument("--delimiter", default="\t", help="field delimiter: TAB (default), SPACE, COMMA or a string")
    p.add_argument("--workers", type=int, default=None, help="threads reading/decoding images (default: min(4, CPUs))")
    p.add_argument("--strict", action="store_true", help="exit code 1 when any line was skipped")
    p.add_argument("--overwrite", action="store_true", help="replace a database already in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args):
    from ppexp.errors import UserError
    from ppexp.experiments.data_tools.lmdb_build import build_lmdb, format_summary

    delimiter = DELIMITER_NAMES.get(args.delimiter.upper() if args.delimiter.isalpha() else args.delimiter,
                                    args.delimiter)
    result = build_lmdb(args.label_file, args.data_dir, args.out, delimiter=delimiter, workers=args.workers,
                        overwrite=args.overwrite, progress=not args.no_progress)
    print(format_summary(result))
    if result.written == 0:
        raise UserError("no sample was written")
    return 1 if args.strict and sum(result.skipped.values()) else 0
