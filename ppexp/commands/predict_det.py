"""``ppexp predict`` for detection: boxes per image as JSON and drawn on a PNG, plus upstream's
``save_res_path`` lines (``path<TAB>[{"points": ...}]``, as tools/infer_det.py writes)."""
import json
import os

from ppexp.config_defaults import det_save_res_path


def wants_det(args, config):
    """Whether this predict run is a detection one (det config, or an exported det model)."""
    from ppexp.engine.builder import is_det

    if args.model_dir:
        from ppexp.engine.det_predictor import is_det_export

        return is_det_export(args.model_dir)
    return is_det(config)


def _load(args, config):
    from ppexp.engine import det_predictor

    if args.model_dir:
        return det_predictor.load_exported_det(args.model_dir)
    from ppexp.engine.predictor import load_trained

    parts, _ = load_trained(config)
    return parts.model, det_predictor.det_infer_ops(config), parts.post_process


def run_det(args, config, paths, log):
    from ppexp.engine.det_predictor import boxes_json, detect_images, write_det_outputs
    from ppexp.engine.written import record_output

    model, ops, post = _load(args, config)
    results = detect_images(model, post, ops, paths)
    res_path = det_save_res_path(config)
    out_dir = args.out or os.path.join(os.path.dirname(os.path.abspath(res_path)), "det_results")
    for path, points, scores in results:
        log.info("%s: %d boxes %s", path, len(scores), json.dumps(boxes_json(points, scores)))
    write_det_outputs(results, out_dir)
    os.makedirs(os.path.dirname(os.path.abspath(res_path)), exist_ok=True)
    with open(res_path, "w", encoding="utf-8") as f:
        for path, points, scores in results:
            f.write(f"{path}\t{json.dumps(boxes_json(points, scores))}\n")
    for path in (out_dir, res_path):
        record_output(config, path)   # so that `ppexp reset` knows ppexp wrote it
    log.info("boxes written to %s (JSON + PNG per image) and %s", out_dir, res_path)
    return 0
