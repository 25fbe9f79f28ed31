"""Detection data pipeline: upstream fixtures (label maps, DetResizeForTest, NormalizeImage) and behaviour."""
import json
import re

import cv2
import numpy as np
import pytest

from det_helpers import det_config, make_det_set
from ppexp.data.imaug import create_operators, transform
from ppexp.data.imaug.random_crop_data import EastRandomCropData
from ppexp.data.loader import build_dataloader, is_empty_batch

MAP_OPS = [{"DetLabelEncode": None},
           {"MakeBorderMap": {"shrink_ratio": 0.4, "thresh_min": 0.3, "thresh_max": 0.7}},
           {"MakeShrinkMap": {"shrink_ratio": 0.4, "min_text_size": 8}}]
NORMALIZE = {"NormalizeImage": {"scale": "1./255.", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                                "order": "hwc"}}


@pytest.fixture(scope="module")
def pipeline(fixtures_dir):
    path = fixtures_dir / "det" / "pipeline"
    if not path.is_dir():
        pytest.skip(f"{path} missing")
    return path, json.loads((path / "pipeline_fixtures.json").read_text())


def run(ops, data):
    return transform(data, create_operators(ops))


def boxes_label(*boxes):
    return json.dumps([{"transcription": t, "points": p} for t, p in boxes])


def test_label_maps_equal_upstream(pipeline):
    path, fx = pipeline
    ref, case = np.load(path / "label_maps.npz"), fx["label_maps"]
    h, w = case["image_hw"]
    out = run(MAP_OPS, {"image": np.zeros((h, w, 3), np.uint8), "label": json.dumps(case["label_json"])})
    np.testing.assert_array_equal(out["polys"], ref["polys"])
    for key in ("threshold_map", "threshold_mask", "shrink_map", "shrink_mask"):
        assert out[key].dtype == np.float32 and out[key].shape == (h, w)
        assert np.abs(out[key] - ref[key]).max() <= 1e-6, key
        assert out[key].sum() == pytest.approx(case["sums"][key], rel=1e-6)
    assert out["ignore_tags"].tolist() == case["ignore_tags_after"]


def test_det_resize_for_test_all_modes(pipeline):
    cases = pipeline[1]["det_resize_for_test"]
    assert len(cases) == 20
    for case in cases:
        h, w = case["src_hw"]
        out = run([{"DetResizeForTest": case["kwargs"] or None}], {"image": np.zeros((h, w, 3), np.uint8)})
        assert list(out["image"].shape[:2]) == case["out_hw"], case
        np.testing.assert_allclose(out["shape"], case["shape"], rtol=0, atol=1e-12)


def test_normalize_bgr_pixel(pipeline):
    case = pipeline[1]["normalize_bgr_pixel"]
    img = np.array(case["in_bgr_uint8"], np.uint8).reshape(1, 1, 3)
    out = run([NORMALIZE], {"image": img})["image"].reshape(-1)
    np.testing.assert_allclose(out, case["out"], rtol=0, atol=1e-6)


def test_resize_long_limit_type_and_keep_ratio():
    out = run([{"DetResizeForTest": {"limit_side_len": 640, "limit_type": "resize_long"}}],
              {"image": np.zeros((300, 1000, 3), np.uint8)})
    assert out["image"].shape[:2] == (192, 640)
    out = run([{"DetResizeForTest": {"image_shape": [64, 64], "keep_ratio": True}}],
              {"image": np.zeros((100, 300, 3), np.uint8)})
    assert out["image"].shape[:2] == (64, 192)
    with pytest.raises(ValueError, match="limit_type"):
        create_operators([{"DetResizeForTest": {"limit_side_len": 640, "limit_type": "longest"}}])


def test_det_label_encode_tags_and_padding():
    label = boxes_label(("A", [[0, 0], [10, 0], [10, 10], [0, 10]]), ("###", [[20, 0], [30, 0], [30, 10]]),
                        ("*", [[0, 20], [9, 20], [9, 29], [0, 29]]), ("", [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1.5]]))
    out = run([{"DetLabelEncode": None}], {"label": label})
    assert out["polys"].shape == (4, 5, 2) and out["polys"].dtype == np.float32
    assert out["ignore_tags"].tolist() == [False, True, True, False]
    assert out["texts"] == ["A", "###", "*", ""]
    np.testing.assert_array_equal(out["polys"][1, 2:], [[30, 10]] * 3)  # padded by repeating the last point


@pytest.mark.parametrize("label, reason", [
    ("[]", "no text boxes"),
    ("[{'points': [[1, 2]]}]", "invalid det label: not valid JSON"),
    ('[{"points": [[1, 2], [3, 4], [5, 6]]}]', "'transcription' and 'points'"),
    ('[{"transcription": "a", "points": [[1, 2], [3]]}]', "list of \\[x, y\\] numbers"),
    ('{"transcription": "a"}', "JSON list"),
])
def test_det_label_encode_rejects_with_reason(label, reason):
    data = {"label": label}
    assert run([{"DetLabelEncode": None}], data) is None
    assert re.search(reason, data["_reject"])


def _augment(seed, img, label):
    np.random.seed(seed)
    ops = [{"DetLabelEncode": None}, {"IaaAugment": None}]
    return run(ops, {"image": img.copy(), "label": label})


def test_iaa_augment_seeded_and_points_follow_image():
    img = np.zeros((60, 90, 3), np.uint8)
    img[10:30, 5:45] = 255
    label = boxes_label(("A", [[5, 10], [45, 10], [45, 30], [5, 30]]))
    a, b = _augment(3, img, label), _augment(3, img, label)
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["polys"], b["polys"])
    outs = [_augment(s, img, label) for s in range(8)]
    assert len({o["image"].shape for o in outs}) > 1 and any(not np.array_equal(o["polys"], a["polys"]) for o in outs)
    for out in outs:  # the white block's centroid is the polygon's centre
        ys, xs = np.nonzero(out["image"][..., 0] > 127)
        centre = out["polys"][0].mean(axis=0)
        assert abs(xs.mean() - centre[0]) < 2.5 and abs(ys.mean() - centre[1]) < 2.5


def test_iaa_augment_bad_config_is_named():
    with pytest.raises(ValueError, match="Crop.*not supported"):
        create_operators([{"IaaAugment": {"augmenter_args": [{"type": "Crop", "args": {"px": 3}}]}}])
    with pytest.raises(ValueError, match="rotate"):
        create_operators([{"IaaAugment": {"augmenter_args": [{"type": "Affine", "args": {"rotate": "lots"}}]}}])


def test_east_random_crop_spread_texts_numpy2():
    """Several free regions per axis: upstream raises under numpy 2 here; crops never cut care texts."""
    boxes = [("T", [[x, y], [x + 30, y], [x + 30, y + 12], [x, y + 12]]) for x, y in
             [(10, 10), (100, 60), (200, 120), (20, 200), (150, 220)]]
    base = run([{"DetLabelEncode": None}], {"image": np.zeros((260, 280, 3), np.uint8), "label": boxes_label(*boxes)})
    crop = EastRandomCropData(size=(128, 96), max_tries=50)
    sizes = set()
    for seed in range(30):
        np.random.seed(seed)
        data = crop({k: (v.copy() if hasattr(v, "copy") else v) for k, v in base.items()})
        assert data["image"].shape == (96, 128, 3)
        assert len(data["polys"]) >= 1 and len(data["polys"]) == len(data["ignore_tags"]) == len(data["texts"])
        for poly in data["polys"]:  # a care text is either inside the crop or not in it at all
            assert poly[:, 0].min() >= -1e-6 and poly[:, 1].min() >= -1e-6
            assert poly[:, 0].max() <= 128 + 1e-6 and poly[:, 1].max() <= 96 + 1e-6
        sizes.add(len(data["polys"]))
    assert len(sizes) > 1


def test_points_outside_image_and_degenerate_polygons_do_not_crash():
    label = boxes_label(("OUT", [[300, 300], [340, 300], [340, 330], [300, 330]]),
                        ("PART", [[-20, 40], [30, 40], [30, 70], [-20, 70]]),
                        ("ZERO", [[10, 10], [40, 10], [40, 10], [10, 10]]),
                        ("LINE", [[5, 90], [60, 90]]),
                        ("BOWTIE", [[70, 10], [110, 40], [110, 10], [70, 40]]),
                        ("OK", [[60, 60], [110, 60], [110, 90], [60, 90]]))
    out = run(MAP_OPS, {"image": np.zeros((100, 120, 3), np.uint8), "label": label})
    assert out["shrink_map"][70:80, 70:100].all()  # the valid box is drawn
    assert out["threshold_mask"][:, :].sum() > 0 and np.isfinite(out["threshold_map"]).all()
    assert out["shrink_map"][50:60, 8:22].all()  # the partly-outside box is clipped, not dropped
    tags = out["ignore_tags"].tolist()
    assert tags[0] and tags[2] and tags[3] and not tags[5]  # outside -> clipped to a line; zero area -> ignored


def test_polygon_library_failure_is_counted(monkeypatch):
    from ppexp.data.imaug import make_border_map, make_shrink_map
    from ppexp.utils.polygon import PolygonError

    def broken(points, distance):
        raise PolygonError("pyclipper: simulated failure")

    monkeypatch.setattr(make_border_map, "offset_polygon", broken)
    monkeypatch.setattr(make_shrink_map, "offset_polygon", broken)
    ops = create_operators(MAP_OPS)
    label = boxes_label(("A", [[10, 10], [60, 10], [60, 40], [10, 40]]))
    out = transform({"image": np.zeros((64, 64, 3), np.uint8), "label": label}, ops)
    assert ops[1].skipped.total() == 1 and ops[2].skipped.total() == 1
    assert out["ignore_tags"].tolist() == [True] and out["shrink_mask"][20, 20] == 0 and out["shrink_map"].sum() == 0


def test_nan_points_are_skipped_and_counted():
    ops = create_operators(MAP_OPS)
    data = transform({"image": np.zeros((64, 64, 3), np.uint8),
                      "label": boxes_label(("A", [[10, 10], [60, 10], [60, 40], [10, 40]]))}, ops[:1])
    data["polys"] = np.concatenate([data["polys"], np.full((1, 4, 2), np.nan, np.float32)])
    data["ignore_tags"] = np.array([False, False])
    out = transform(data, ops[1:])
    assert ops[1].skipped.total() == 1 and ops[2].skipped.total() == 1
    assert out["shrink_map"].sum() > 0 and out["ignore_tags"].tolist() == [False, True]


def test_det_dataset_train_and_eval_batches(tmp_path):
    label = make_det_set(tmp_path, 6)
    cfg = det_config(tmp_path, label)
    np.random.seed(0)
    loader, _ = build_dataloader(cfg, "Train", seed=1)
    batch = next(iter(loader))
    assert [tuple(x.shape) for x in batch] == [(2, 3, 160, 160)] + [(2, 160, 160)] * 4
    loader, dataset = build_dataloader(cfg, "Eval", seed=1)
    batches = list(loader)
    assert sum(len(b[1]) for b in batches) == 6 and dataset.drops.snapshot() == {}
    images, shapes, polys, tags = batches[1]  # 96x256 and 120x200 images: ragged, kept per sample
    assert [im.shape for im in images] == [(3, 96, 256), (3, 128, 192)]
    assert isinstance(polys, list) and len(polys) == 2
    np.testing.assert_allclose(shapes.numpy()[1], [120, 200, 128 / 120, 192 / 200])


def test_det_dataset_bad_lines_counted_and_named(tmp_path, caplog):
    label = make_det_set(tmp_path, 4)
    lines = open(label).read().splitlines()
    lines[1] = lines[1].split("\t")[0] + "\t[{\"points\": oops}]"
    lines[2] = lines[2].split("\t")[0] + "\t[]"
    open(label, "w").write("\n".join(lines) + "\n")
    cfg = det_config(tmp_path, label, eval_batch=1)
    loader, dataset = build_dataloader(cfg, "Eval", seed=1)
    assert "2 of 4 labels will be rejected by DetLabelEncode" in caplog.text and "label.txt:2" in caplog.text
    batches = list(loader)  # eval skips a rejected sample (never replaces it): two batches come out empty
    assert len(batches) == 4 and sum(is_empty_batch(b) for b in batches) == 2
    assert dataset.drops.snapshot() == {"invalid det label": 1, "no text boxes": 1}


def test_det_label_json_may_contain_the_delimiter(tmp_path):
    """Everything after the first delimiter is the det label (upstream would cut the JSON at a space)."""
    label = make_det_set(tmp_path, 3)
    lines = [line.replace("\t", " ", 1) for line in open(label).read().splitlines()]
    open(label, "w").write("\n".join(lines) + "\n")
    cfg = det_config(tmp_path, label, eval_batch=1)
    cfg["Eval"]["dataset"]["delimiter"] = " "
    loader, dataset = build_dataloader(cfg, "Eval", seed=1)
    assert len(list(loader)) == 3 and dataset.drops.snapshot() == {}


def test_eval_batches_to_metric_end_to_end(tmp_path):
    """Eval batches of 2 differently sized images -> maps drawn from the GT (MakeShrinkMap at each
    image's resized size, zero-padded to the batch's largest as the evaluator pads outputs) -> DBPostProcess
    -> DetMetric: every text found."""
    from ppexp.data.imaug.make_shrink_map import MakeShrinkMap
    from ppexp.metrics import build_metric
    from ppexp.postprocess import build_post_process

    label = make_det_set(tmp_path, 6)
    loader, _ = build_dataloader(det_config(tmp_path, label), "Eval", seed=1)
    post = build_post_process({"name": "DBPostProcess", "thresh": 0.3, "box_thresh": 0.6, "unclip_ratio": 1.5})
    metric, shrink = build_metric({"name": "DetMetric"}), MakeShrinkMap()
    for images, shapes, polys, tags in loader:
        sizes = [im.shape[1:] for im in images] if isinstance(images, list) else [images.shape[2:]] * len(polys)
        maps = np.zeros((len(sizes), 1, max(h for h, _ in sizes), max(w for _, w in sizes)), np.float32)
        for k, (src_h, src_w, rh, rw) in enumerate(shapes.numpy()):
            h, w = int(round(src_h * rh)), int(round(src_w * rw))
            gt = {"image": np.zeros((h, w, 3), np.uint8), "polys": np.asarray(polys[k]) * (rw, rh),
                  "ignore_tags": np.asarray(tags[k])}
            maps[k, 0, :h, :w] = shrink(gt)["shrink_map"]
        metric(post({"maps": maps}, shapes), [images, shapes, polys, tags])
    assert metric.gt_care >= 12 and metric.get_metric() == {"precision": 1.0, "recall": 1.0, "hmean": 1.0}


def _sample(label, h=80, w=120, value=0):
    img = np.full((h, w, 3), value, np.uint8)
    return run([{"DetLabelEncode": None}], {"image": img, "label": label})


def test_copy_paste_adds_boxes_from_the_extra_sample():
    from ppexp.data.imaug.copy_paste import CopyPaste

    ext = _sample(boxes_label(("AB", [[10, 10], [50, 10], [50, 30], [10, 30]]),
                              ("###", [[60, 40], [100, 40], [100, 60], [60, 60]]),
                              ("CD", [[10, 50], [30, 50], [30, 60], [10, 60]])))
    ext["image"][10:30, 10:50] = 200
    ext["image"][50:60, 10:30] = 200
    op = CopyPaste(objects_paste_ratio=1.0)
    outs = []
    for _ in range(2):
        np.random.seed(5)
        data = _sample(boxes_label(("X", [[5, 5], [25, 5], [25, 15], [5, 15]])), h=200, w=240)
        data["ext_data"] = [ext]
        outs.append(op(data))
    out = outs[0]
    np.testing.assert_array_equal(out["image"], outs[1]["image"])  # seeded
    assert len(out["polys"]) == 3 and out["texts"][0] == "X" and sorted(out["texts"][1:]) == ["AB", "CD"]
    assert out["ignore_tags"].tolist() == [False, False, False]  # only care boxes are pasted
    for poly in out["polys"][1:]:  # the pasted boxes carry the pasted (bright) pixels, away from box X
        mask = np.zeros(out["image"].shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
        inner = cv2.erode(mask, np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)  # off the edge
        assert inner.sum() > 20 and out["image"][inner > 0].mean() > 180
        assert poly[:, 0].min() > 25 or poly[:, 1].min() > 15 or poly[:, 0].max() < 5 or poly[:, 1].max() < 5


def test_copy_paste_without_extra_sample_or_quads():
    from ppexp.data.imaug.copy_paste import CopyPaste

    op = CopyPaste()
    data = _sample(boxes_label(("X", [[5, 5], [25, 5], [25, 15], [5, 15]])))
    assert len(op(dict(data, ext_data=[]))["polys"]) == 1
    ext = _sample(boxes_label(("P", [[10, 10], [40, 10], [50, 20], [40, 30], [10, 30]])))
    assert len(op(dict(data, ext_data=[ext]))["polys"]) == 1 and op.skipped.total() == 1


def test_copy_paste_in_a_training_pipeline(tmp_path):
    label = make_det_set(tmp_path, 6)
    cfg = det_config(tmp_path, label)
    cfg["Train"]["dataset"]["transforms"].insert(2, {"CopyPaste": None})
    np.random.seed(0)
    loader, dataset = build_dataloader(cfg, "Train", seed=1)
    assert dataset.ext_data_num == 1
    assert sum(1 for _ in loader) == 3 and dataset.drops.snapshot() == {}


def test_every_upstream_det_config_builds(fixtures_dir):
    """The Train/Eval transforms, PostProcess and Metric of every det config in the fixtures build unchanged."""
    import yaml

    from ppexp.metrics import build_metric
    from ppexp.postprocess import build_post_process

    configs = sorted((fixtures_dir / "det" / "configs").glob("*.yml"))
    assert len(configs) >= 7
    for path in configs:
        cfg = yaml.safe_load(path.read_text())
        for split in ("Train", "Eval"):
            ops = create_operators(cfg[split]["dataset"]["transforms"], cfg.get("Global"), f"{path.name} {split}")
            assert type(ops[1]).__name__ == "DetLabelEncode"
        assert type(build_post_process(cfg["PostProcess"], cfg.get("Global"))).__name__ == "DBPostProcess"
        assert build_metric(cfg["Metric"]).main_indicator == "hmean"
