"""``ppexp ocr``: point ordering, perspective crops, and detect -> crop -> recognise on exported models."""
import json
import os

import cv2
import numpy as np
import pytest

from det_export_helpers import export_tiny_det
from ppexp import cli
from ppexp.engine import ocr_pipeline
from ppexp.engine.ocr_pipeline import crop_quad, order_points
from ppexp.experiments.synth.det_dataset import generate_det_dataset

REC_DIR = os.path.join(os.path.dirname(__file__), "..", "ppexp", "pretrained", "kr_plates_rec")


def test_order_points_any_start_any_direction():
    quad = np.array([[10, 12], [90, 5], [95, 40], [12, 45]], np.float32)
    for shift in range(4):
        for q in (np.roll(quad, shift, axis=0), np.roll(quad[::-1], shift, axis=0)):
            assert np.array_equal(order_points(q), quad)


def test_det_label_file_is_read_with_the_one_label_reader(tmp_path):
    """--labels: BOM and CRLF do not reach the image path or the JSON; bad lines name file and line."""
    from ppexp.engine.ocr_eval import read_label_file

    box = '[{"transcription":\t"123", "points": [[0, 0], [4, 0], [4, 2], [0, 2]]}]'   # a TAB inside the JSON
    f = tmp_path / "l.txt"
    f.write_bytes(("\ufeffa.png\t" + box + "\r\n\nb.png\t[]\n").encode("utf-8"))
    rows = read_label_file(str(f), data_dir="/d")
    assert [r[0] for r in rows] == ["/d/a.png", "/d/b.png"] and rows[0][1][0]["transcription"] == "123"
    for text, msg in (("a.png\t{not json\n", f"{f}:1: the label is not JSON"), ("no tab\n", f"{f}:1: expected 'image<TAB>")):
        f.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=msg.replace("[", "\\[")):
            read_label_file(str(f))


def test_crop_quad_flattens_a_perspective_plate():
    flat = np.full((40, 120, 3), 255, np.uint8)
    flat[:10] = 0                                         # a dark band along the top edge
    quad = np.array([[30, 20], [150, 30], [148, 72], [28, 60]], np.float32)
    src = np.array([[0, 0], [120, 0], [120, 40], [0, 40]], np.float32)
    scene = cv2.warpPerspective(flat, cv2.getPerspectiveTransform(src, quad), (200, 100),
                                borderValue=(128, 128, 128))
    crop = crop_quad(scene, quad[[2, 3, 0, 1]])           # corner order does not matter
    assert crop.shape[1] in range(119, 123) and crop.shape[0] in range(41, 45)
    assert crop[2:6, 10:-10].mean() < 60 and crop[-12:-4, 10:-10].mean() > 200


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("ocr")
    det_dir, _ = export_tiny_det(root)
    rec_dir = str(root / "rec_export")
    assert cli.main(["export", "-c", os.path.join(REC_DIR, "config.yml"), "-o",
                     f"Global.checkpoints={REC_DIR}/best_accuracy", f"Global.save_inference_dir={rec_dir}",
                     f"Global.save_model_dir={root}/rec_run"]) == 0
    data = root / "scenes"
    generate_det_dataset(str(data), 2, seed=9, val_fraction=0.0, workers=1, progress=False)
    return det_dir, rec_dir, data


def _gt(data):
    rows = [line.rstrip("\n").split("\t") for line in (data / "train.txt").read_text(encoding="utf-8").splitlines()]
    return {os.path.join(str(data), rel): [b for b in json.loads(lab) if b["transcription"] != "###"]
            for rel, lab in rows}


def test_ocr_reads_every_detected_box(models, tmp_path, monkeypatch, capsys):
    """The detector stubbed with the ground-truth quads: each is cropped, recognised and reported."""
    det_dir, rec_dir, data = models
    gt = _gt(data)
    monkeypatch.setattr(ocr_pipeline.Detector, "__call__",
                        lambda self, raw, name: ([np.array(b["points"]) for b in gt[name]], [0.9] * len(gt[name])))
    out = tmp_path / "out"
    assert cli.main(["ocr", "--det-model-dir", det_dir, "--rec-model-dir", rec_dir, "--image",
                     str(data / "images"), "--out", str(out), "--drop-score", "0"]) == 0
    printed = capsys.readouterr().out
    for path, plates in gt.items():
        stem = os.path.splitext(os.path.basename(path))[0]
        result = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))["results"]
        assert len(result) == len(plates) and all(r["det_score"] == 0.9 for r in result)
        assert all(0 <= r["rec_score"] <= 1 and isinstance(r["text"], str) for r in result)
        assert {str(order_points(b["points"]).round().astype(int).tolist()) for b in plates} == \
            {str(r["points"]) for r in result}
        assert cv2.imread(str(out / f"{stem}.png")).shape == cv2.imread(path).shape
    assert printed.count("\trec ") == sum(len(p) for p in gt.values()) and "\tdet 0.900\t" in printed
    assert len((out / "system_results.txt").read_text(encoding="utf-8").splitlines()) == len(gt)


def test_ocr_on_the_exported_models_and_wrong_dirs(models, tmp_path, capsys):
    det_dir, rec_dir, data = models
    image = sorted((data / "images").iterdir())[0]
    assert cli.main(["ocr", "--det-model-dir", det_dir, "--rec-model-dir", rec_dir, "--image", str(image),
                     "--out", str(tmp_path)]) == 0
    assert (tmp_path / f"{image.stem}.json").exists() and (tmp_path / f"{image.stem}.png").exists()
    assert cli.main(["ocr", "--det-model-dir", det_dir, "--rec-model-dir", det_dir, "--image", str(image),
                     "--out", str(tmp_path)]) == 2
    assert "not a CTC recogniser" in capsys.readouterr().out
    with pytest.raises(ValueError, match="not a DB detector"):
        ocr_pipeline.Detector(rec_dir)


def test_labels_give_the_end_to_end_exact_match_rate(models, tmp_path, monkeypatch, capsys):
    """GT quads as detections and a recogniser that reads one plate per image right: rate = 1 / plates."""
    det_dir, rec_dir, data = models
    gt = _gt(data)
    monkeypatch.setattr(ocr_pipeline.Detector, "__call__",
                        lambda self, raw, name: ([np.array(b["points"]) for b in gt[name]], [0.9] * len(gt[name])))
    firsts = {str(order_points(p[0]["points"]).round().astype(int).tolist()): p[0]["transcription"]
              for p in gt.values()}
    calls = []

    def fake_read(self, crop):
        calls.append(crop.shape)
        return "?", 0.9

    monkeypatch.setattr(ocr_pipeline.Recognizer, "__call__", fake_read)
    real_ocr = ocr_pipeline.ocr_image

    def patched(path, detector, recognizer, drop_score=0.5):
        img, items = real_ocr(path, detector, recognizer, drop_score)
        for item in items:
            item["text"] = firsts.get(str(item["points"]), item["text"])
        return img, items

    monkeypatch.setattr(ocr_pipeline, "ocr_image", patched)
    assert cli.main(["ocr", "--det-model-dir", det_dir, "--rec-model-dir", rec_dir, "--labels",
                     str(data / "train.txt"), "--out", str(tmp_path)]) == 0
    total = sum(len(p) for p in gt.values())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["texts"] == total == len(calls) and summary["read_exactly"] == len(gt)
    assert f"end-to-end exact match: {len(gt)}/{total}" in capsys.readouterr().out


def test_rec_input_shape_reaches_the_recogniser(models, tmp_path, monkeypatch, capsys):
    """--rec-input-shape C,H,W: every crop is fed to the recogniser at exactly H x W (TextRecognition's
    input_shape); a malformed shape stops the command with the flag named."""
    det_dir, rec_dir, data = models
    gt = _gt(data)
    monkeypatch.setattr(ocr_pipeline.Detector, "__call__",
                        lambda self, raw, name: ([np.array(b["points"]) for b in gt[name]], [0.9] * len(gt[name])))
    shapes = []
    real_init = ocr_pipeline.Recognizer.__init__

    def spy_init(self, model_dir, input_shape=None):
        real_init(self, model_dir, input_shape)
        model = self.model
        self.model = lambda x: (shapes.append(tuple(x.shape)), model(x))[1]

    monkeypatch.setattr(ocr_pipeline.Recognizer, "__init__", spy_init)
    assert cli.main(["ocr", "--det-model-dir", det_dir, "--rec-model-dir", rec_dir, "--image",
                     str(data / "images"), "--out", str(tmp_path / "a"), "--rec-input-shape", "3,64,192"]) == 0
    assert len(shapes) == sum(len(p) for p in gt.values()) and set(shapes) == {(1, 3, 64, 192)}
    shapes.clear()
    assert cli.main(["ocr", "--det-model-dir", det_dir, "--rec-model-dir", rec_dir, "--image",
                     str(data / "images"), "--out", str(tmp_path / "b")]) == 0
    assert len({s[3] for s in shapes}) > 1                        # PaddleX's width rule: widths vary
    capsys.readouterr()
    assert cli.main(["ocr", "--det-model-dir", det_dir, "--rec-model-dir", rec_dir, "--image",
                     str(data / "images"), "--rec-input-shape", "64x192"]) == 2
    assert "--rec-input-shape '64x192': give C,H,W" in capsys.readouterr().out
