"""``ppexp eval --model_dir`` on an exported det model: hmean / precision / recall as the checkpoint's."""
import json
import os

import pytest

from det_export_helpers import DEMO_CONFIG, tiny_det_checkpoint
from det_helpers import make_det_set
from ppexp import cli

# The untrained tiny model's maps sit around 0.5 everywhere, so with thresh 0.05 it finds one box: the whole
# image (mapped back from the resized input to source pixels). Each label gets a whole-image box (found)
# beside its text boxes (missed): precision 1, recall < 1, and a wrong resize / shape would break the match.
POST = ["PostProcess.thresh=0.05", "PostProcess.box_thresh=0.05"]
METRICS = ("precision", "recall", "hmean")


@pytest.fixture(scope="module")
def det_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_eval_export")
    label = _with_whole_image_boxes(make_det_set(str(root / "data"), 6, seed=2))
    overrides, _ = tiny_det_checkpoint(root, str(root / "data"), label)
    overrides += POST
    out = str(root / "export")
    assert cli.main(["export", "-c", DEMO_CONFIG, "-o", *overrides, f"Global.save_inference_dir={out}"]) == 0
    return root, overrides, out


def _with_whole_image_boxes(label):
    import cv2

    lines = []
    for line in open(label, encoding="utf-8").read().splitlines():
        rel, boxes = line.split("\t")
        h, w = cv2.imread(os.path.join(os.path.dirname(label), rel)).shape[:2]
        whole = [[1, 1], [w - 2, 1], [w - 2, h - 2], [1, h - 2]]
        lines.append(f"{rel}\t{json.dumps(json.loads(boxes) + [{'transcription': 'ALL', 'points': whole}])}")
    with open(label, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return label


def _eval(args, path):
    assert cli.main(["eval", "-c", DEMO_CONFIG, *args, "--json", str(path)]) == 0
    return json.loads(path.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("eval_batch", [1, 4])   # 4: the checkpoint's eval pads images to the batch's largest
def test_export_scores_as_the_checkpoint(det_run, tmp_path, eval_batch):
    root, overrides, export_dir = det_run
    ckpt = _eval(["-o", *overrides, f"Eval.loader.batch_size_per_card={eval_batch}"], tmp_path / "ckpt.json")
    exported = _eval(["-o", *overrides, "--model_dir", export_dir], tmp_path / "export.json")
    assert exported["samples"] == ckpt["samples"] == 6
    assert exported["weights"] == f"exported model {export_dir}"
    assert ckpt["precision"] == 1.0 and 0.2 < ckpt["recall"] < 0.5, ckpt   # the 6 whole-image boxes found
    for name in METRICS:
        assert exported[name] == pytest.approx(ckpt[name], abs=1e-6), name


def test_det_export_needs_a_det_config_and_no_rec_report(det_run, tmp_path, capsys):
    _, overrides, export_dir = det_run
    rc = cli.main(["eval", "-c", DEMO_CONFIG, "-o", *overrides, "--model_dir", export_dir, "--errors"])
    assert rc == 2 and "--errors/--groups report recognition errors" in capsys.readouterr().err
    rec_dir = tmp_path / "not_det"
    rec_dir.mkdir()
    (rec_dir / "inference.yml").write_text("PostProcess: {name: CTCLabelDecode}\n", encoding="utf-8")
    rc = cli.main(["eval", "-c", DEMO_CONFIG, "-o", *overrides, "--model_dir", str(rec_dir)])
    assert rc == 2 and "not an exported det model" in capsys.readouterr().err
