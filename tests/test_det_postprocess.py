"""DBPostProcess: upstream fixture cases and behaviour (padding, skipped polygons, options)."""
import json

import cv2
import numpy as np
import pytest

from ppexp.postprocess import build_post_process
from ppexp.postprocess import db_postprocess
from ppexp.utils.polygon import PolygonError


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    path = fixtures_dir / "det" / "pipeline"
    if not (path / "db_postprocess.npz").is_file():
        pytest.skip(f"{path}/db_postprocess.npz missing")
    cases = json.loads((path / "pipeline_fixtures.json").read_text())["db_postprocess"]["cases"]
    return np.load(path / "db_postprocess.npz"), cases


def build(**kwargs):
    return build_post_process(dict(name="DBPostProcess", **kwargs))


@pytest.mark.parametrize("case", ["config", "class_defaults", "dilation_slow", "poly"])
def test_equal_to_upstream(fixture, case):
    ref, cases = fixture
    expected = cases[case]
    out = build(**expected["kwargs"])({"maps": ref["maps"]}, ref["shape_list"])
    assert len(out) == 1
    points = out[0]["points"]
    if case != "poly":
        assert isinstance(points, np.ndarray) and points.dtype == np.int32 and points.shape[1:] == (4, 2)
    assert [np.asarray(p).tolist() for p in points] == expected["points"]
    np.testing.assert_allclose(out[0]["scores"], expected["scores"], rtol=0, atol=1e-9)


def test_paddle_tensor_input_and_batch(fixture):
    import paddle

    ref, cases = fixture
    maps = np.concatenate([ref["maps"], ref["maps"][:, :, ::-1].copy()])
    shapes = np.concatenate([ref["shape_list"]] * 2)
    out = build(**cases["config"]["kwargs"])({"maps": paddle.to_tensor(maps)}, paddle.to_tensor(shapes))
    assert out[0]["points"].tolist() == cases["config"]["points"]
    assert len(out[1]["points"]) == 3  # the flipped map finds the same three texts


def _blobs_map(h, w, rects):
    prob = np.zeros((1, 1, h, w), np.float32)
    for x0, y0, x1, y1 in rects:
        prob[0, 0, y0:y1, x0:x1] = 0.9
    return prob


def test_padded_batch_map_is_cut_to_the_image():
    """An image resized to 64x96, padded to 96x128 in a batch, gives the same boxes as alone."""
    alone = _blobs_map(64, 96, [(10, 10, 50, 30), (60, 40, 90, 60)])
    padded = np.zeros((1, 1, 96, 128), np.float32)
    padded[..., :64, :96] = alone
    pp = build(box_thresh=0.6, unclip_ratio=1.5)
    shape = np.array([[128, 192, 0.5, 0.5]])
    a = pp({"maps": alone}, shape)[0]["points"]
    b = pp({"maps": padded}, shape)[0]["points"]
    assert len(a) == 2 and a.tolist() == b.tolist()
    assert a[:, :, 0].max() <= 192 and a[:, :, 1].max() <= 128


def test_failing_polygon_is_skipped_and_counted(monkeypatch):
    prob = _blobs_map(64, 96, [(10, 10, 50, 30), (60, 40, 90, 60)])
    real, calls = db_postprocess.offset_polygon, []

    def first_fails(points, distance):
        calls.append(1)
        if len(calls) == 1:
            raise PolygonError("pyclipper: simulated failure")
        return real(points, distance)

    monkeypatch.setattr(db_postprocess, "offset_polygon", first_fails)
    pp = build(box_thresh=0.6)
    out = pp({"maps": prob}, np.array([[64, 96, 1, 1]]))[0]
    assert len(out["points"]) == 1 and pp.skipped.counts == {"pyclipper/shapely error": 1}


def test_degenerate_regions_do_not_crash():
    prob = _blobs_map(64, 96, [(10, 10, 11, 40), (20, 20, 22, 22), (30, 5, 80, 6), (40, 30, 70, 50)])
    prob[0, 0, 0, 0] = np.nan
    for box_type in ("quad", "poly"):
        out = build(box_thresh=0.5, box_type=box_type)({"maps": prob}, np.array([[64, 96, 1, 1]]))[0]
        assert len(out["points"]) == 1  # only the 30x20 block survives the size rules


def test_max_candidates_and_thresholds():
    rects = [(4 + 12 * i, 4, 12 + 12 * i, 20) for i in range(6)]
    prob = _blobs_map(32, 80, rects)
    shape = np.array([[32, 80, 1, 1]])
    assert len(build(box_thresh=0.5)({"maps": prob}, shape)[0]["points"]) == 6
    assert len(build(box_thresh=0.5, max_candidates=2)({"maps": prob}, shape)[0]["points"]) == 2
    assert len(build(box_thresh=0.95)({"maps": prob}, shape)[0]["points"]) == 0


def test_slow_score_is_mean_inside_the_contour():
    prob = np.zeros((1, 1, 40, 40), np.float32)
    cv2.circle(prob[0, 0], (20, 20), 12, 0.8, -1)
    fast = build(box_thresh=0.0, score_mode="fast")({"maps": prob}, np.array([[40, 40, 1, 1]]))[0]["scores"][0]
    slow = build(box_thresh=0.0, score_mode="slow")({"maps": prob}, np.array([[40, 40, 1, 1]]))[0]["scores"][0]
    assert slow > fast and slow == pytest.approx(0.8, abs=0.03)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="score_mode"):
        build(score_mode="median")
    with pytest.raises(ValueError, match="box_type"):
        build(box_type="circle")
