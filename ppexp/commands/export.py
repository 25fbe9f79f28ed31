"""``ppexp export -c cfg.yml -o Global.checkpoints=... Global.save_inference_dir=DIR``."""
from ppexp.commands.common import add_config_args, load_run_config
from ppexp.engine.loggers import setup_run_logging


def add_parser(subparsers):
    parser = subparsers.add_parser("export", help="export a trained model for Paddle inference")
    add_config_args(parser)
    parser.add_argument("--model_name", help="inference.yml Global.model_name: the PaddleX model name "
                                             "PaddleOCR 3's TextRecognition / TextDetection is given "
                                             "(default: Global.model_name, else PP-OCRv6_medium_rec for rec, "
                                             "PP-OCRv5_mobile_det for det)")
    parser.set_defaults(func=run)
    return parser


def run(args):
    config = load_run_config(args)
    setup_run_logging(config, log_name=None)
    import paddle

    paddle.set_device("cpu")
    from ppexp.engine.export import export_model
    from ppexp.engine.predictor import load_trained

    from ppexp.engine.builder import is_det

    parts, _ = load_trained(config)
    save_dir = config["Global"].get("save_inference_dir") or "./inference/rec/"
    if is_det(config):
        from ppexp.engine.det_export import export_det_model

        export_det_model(parts.model, config, save_dir, args.model_name)
    else:
        export_model(parts.model, config, parts.charset, save_dir, args.model_name)
    from ppexp.engine.written import record_output

    record_output(config, save_dir)   # so that `ppexp reset` knows ppexp wrote it
    return 0
