"""``ppexp aug-preview -c cfg.yml --n 32 --out grid.png``: see what the model sees before training."""
from ppexp.commands.common import add_config_args, load_run_config
from ppexp.errors import UsageError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "aug-preview", help="render the Train transforms on real samples as a labelled image grid (PNG)",
        description="Renders a config's transforms on random samples of its dataset: each tile shows the image "
        "after the augmentations and, below it, the resized model input de-normalised, with the label.")
    add_config_args(p)
    p.add_argument("--n", type=int, default=32, help="number of samples (default 32)")
    p.add_argument("--out", required=True, help="output image (.png)")
    p.add_argument("--mode", default="Train", help="config section: Train (default) or Eval")
    p.add_argument("--seed", type=int, default=0, help="sample choice and augmentation seed (default 0)")
    p.add_argument("--cols", type=int, default=4, help="tiles per row (default 4)")
    p.add_argument("--tile-width", type=int, default=240, help="tile width in pixels (default 240)")
    p.add_argument("--image-height", type=int, default=48, help="height each image is drawn at (default 48)")
    p.add_argument("--font", default=None, help="TrueType font for labels (default: Nanum, for Hangul)")
    p.set_defaults(func=run)
    return p


def run(args):
    import os

    config = load_run_config(args)
    if args.mode not in config or "dataset" not in (config.get(args.mode) or {}):
        raise UsageError(f"{args.config} has no {args.mode}.dataset section; pass --mode Train or --mode Eval "
                         "(a section the config has)")
    if args.n < 1:
        raise UsageError(f"--n must be at least 1 (got {args.n})")
    from ppexp.experiments.data_tools.aug_preview import aug_preview

    s = aug_preview(config, args.out, n=args.n, mode=args.mode, seed=args.seed, cols=args.cols,
                    tile_w=args.tile_width, image_h=args.image_height, font_path=args.font,
                    config_name=os.path.basename(args.config))
    print(f"wrote {s['out']} ({s['width']}x{s['height']} px, {s['bytes'] / 1024:.0f} KB): {s['tiles']} of "
          f"{s['samples']} {args.mode} samples, seed {args.seed}")
    print(f"  top row of each tile: {s['top']}")
    if s["rest"]:
        print(f"  below it: after {s['rest']}, de-normalised")
    if s["rejected"]:
        print(f"  rejected while sampling (not drawn): {s['rejected']}")
    if not s["font"]:
        print("  no Hangul font found (install fonts-nanum); labels drawn in ASCII with cv2")
    return 0
