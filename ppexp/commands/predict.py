"""``ppexp predict -c cfg.yml -o Global.infer_img=PATH [Global.checkpoints=...]``: recognise images."""
import os

from ppexp.commands.common import add_config_args, load_run_config, setup_run_logging


def add_parser(subparsers):
    parser = subparsers.add_parser("predict", help="recognise an image or a folder of images")
    add_config_args(parser)
    parser.add_argument("--image", help="image file or folder (default: Global.infer_img)")
    parser.set_defaults(func=run)
    return parser


def run(args):
    config = load_run_config(args)
    log = setup_run_logging(config, log_name=None)
    import paddle

    paddle.set_device("cpu")
    from ppexp.engine.predictor import infer_ops, list_images, load_trained, predict_images

    target = args.image or config["Global"].get("infer_img")
    if not target:
        log.error("no image given: pass --image PATH or -o Global.infer_img=PATH")
        return 2
    from ppexp.engine.written import record_output

    parts, _ = load_trained(config)
    results = predict_images(parts, infer_ops(config, parts.charset), list_images(target))
    out_path = config["Global"].get("save_res_path")
    lines = [f"{path}\t{text}\t{score:.4f}" for path, text, score in results]
    for path, text, score in results:
        log.info("infer_img: %s", path)
        log.info("\t result: %s\t%.4f", text, score)
    if out_path:
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
        with open(out_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        record_output(config, out_path)   # so that `ppexp reset` knows ppexp wrote it
        log.info("results written to %s", out_path)
    return 0
