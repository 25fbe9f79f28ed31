"""DetMetric: upstream fixture (strict IoU > 0.5, greedy matching, don't care) and behaviour."""
import json

import numpy as np
import pytest

from ppexp.metrics import build_metric
from ppexp.metrics.det_metric import evaluate_image


@pytest.fixture(scope="module")
def case(fixtures_dir):
    path = fixtures_dir / "det" / "pipeline" / "pipeline_fixtures.json"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return json.loads(path.read_text())["det_metric"]


def square(x, y, w, h):
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def batch_of(gt_polys, ignore):
    return [None, None, [np.asarray(gt_polys, np.float32)], [np.asarray(ignore, bool)]]


def test_per_image_counts_equal_upstream(case):
    counts = evaluate_image(np.array(case["gt_polys"]), case["gt_ignore"], case["preds"][0]["points"])
    assert counts == case["per_image"]


def test_metric_equal_upstream(case):
    metric = build_metric({"name": "DetMetric", "main_indicator": "hmean"})
    assert metric.main_indicator == "hmean"
    metric(case["preds"], batch_of(case["gt_polys"], case["gt_ignore"]))
    assert metric.get_metric() == pytest.approx(case["metric_one_image"], abs=1e-12)
    metric(case["preds"], batch_of(case["gt_polys"], case["gt_ignore"]))
    metric([{"points": np.array([square(0, 0, 10, 10)])}], [None, None, [np.zeros((0, 4, 2))], [np.zeros(0, bool)]])
    assert metric.get_metric() == pytest.approx(case["metric_plus_image_without_gt_with_1_det"], abs=1e-12)
    assert metric.get_metric() == {"precision": 0.0, "recall": 0.0, "hmean": 0.0}  # reset after get_metric


def test_iou_exactly_half_does_not_match():
    gt = [square(0, 0, 100, 20)]
    half = [square(0, 0, 50, 20)]  # IoU 0.5
    more = [square(0, 0, 51, 20)]  # IoU 0.51
    assert evaluate_image(gt, [False], half)["detMatched"] == 0
    assert evaluate_image(gt, [False], more)["detMatched"] == 1


def test_greedy_matching_in_gt_then_detection_order():
    gts = [square(0, 0, 100, 20), square(0, 4, 100, 20)]
    dets = [square(0, 2, 100, 20)]  # matches both GTs; the first GT takes it
    assert evaluate_image(gts, [False, False], dets) == {"gtCare": 2, "detCare": 1, "detMatched": 1}


def test_dont_care_region_and_invalid_polygons_counted():
    metric = build_metric({"name": "DetMetric"})
    gts = [square(0, 0, 100, 20), square(200, 0, 60, 30), [[0, 50], [40, 90], [40, 50], [0, 90]]]
    dets = [square(0, 0, 100, 20), square(205, 2, 50, 26), [[300, 0], [340, 40], [340, 0], [300, 40]]]
    metric([{"points": dets}], batch_of(gts, [False, True, False]))
    assert metric.results == [{"gtCare": 1, "detCare": 1, "detMatched": 1}]
    assert metric.skipped.counts == {"invalid ground-truth polygon": 1, "invalid detection polygon": 1}
    assert metric.get_metric()["hmean"] == 1.0


def test_tensor_batch():
    import paddle

    metric = build_metric({"name": "DetMetric"})
    gts = paddle.to_tensor(np.array([[square(0, 0, 100, 20)]], np.float32))
    tags = paddle.to_tensor(np.array([[False]]))
    metric([{"points": np.array([square(1, 1, 98, 18)], np.int32)}], [None, None, gts, tags])
    assert metric.get_metric() == {"precision": 1.0, "recall": 1.0, "hmean": 1.0}
