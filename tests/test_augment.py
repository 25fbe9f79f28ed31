"""RecAug / TIA, RandAugment and RecConAug: shapes, dtypes, value ranges, labels, tiny and odd inputs."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ppexp.data.imaug import TRANSFORMS, create_operators, transform
from ppexp.data.imaug import randaugment as ra
from ppexp.data.imaug import rec_aug, tia
from ppexp.data.imaug.rec_con_aug import RecConAug

GLOBAL = {"max_text_length": 25, "use_space_char": False, "character_dict_path": None}
ALL_ON = dict(tia_prob=1.0, crop_prob=1.0, reverse_prob=1.0, noise_prob=1.0, jitter_prob=1.0, blur_prob=1.0,
              hsv_aug_prob=1.0)
ALL_OFF = {k: 0.0 for k in ALL_ON}


def word_image(text="hello42", h=40, ink=(40, 30, 120), bg=(230, 220, 200)):
    """A BGR uint8 word image drawn with cv2.putText."""
    w = 18 * len(text) + 16
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    cv2.putText(img, text, (8, int(h * 0.72)), cv2.FONT_HERSHEY_SIMPLEX, h / 40.0, ink, 2, cv2.LINE_AA)
    return img


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)


def _check_image(img, h=None, w=None):
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.flags.c_contiguous
    if h is not None:
        assert img.shape[0] == h
    if w is not None:
        assert img.shape[1] == w


# ---------------------------------------------------------------- TIA / MLS


def _bench_module():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_aug.py"
    spec = importlib.util.spec_from_file_location("bench_aug", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_mls_identity_and_control_points():
    img = word_image()
    h, w = img.shape[:2]
    corners = [[0, 0], [w, 0], [w, h], [0, h]]
    assert np.array_equal(tia.warp_mls(img, corners, corners), img)
    src = tia._corners(h, w)
    dst = src + np.array([3 + 2j, -4 + 1j, -2 - 3j, 1 - 1j])
    # a node on a control point maps to that point's source position
    assert np.allclose(tia.mls_similarity(dst, src, dst), src, atol=1e-6)


@pytest.mark.parametrize("shape", [(40, 130), (48, 320), (120, 60), (250, 260)])
def test_mls_matches_upstream_loop_baseline(shape):
    """Vectorised warp == the per-cell loop re-expression of upstream.

    On a smooth ramp they agree to 1 grey level (upstream truncates, cv2 rounds);
    on text, cv2's 1/32-px fixed-point sampling moves steep edges by a few levels.
    """
    bench = _bench_module()
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = np.dstack([xx * 200 // w, yy * 200 // h, (xx + yy) * 100 // (h + w)]).astype(np.uint8)
    text = cv2.resize(word_image(), (w, h))
    for points in (tia.distort_points(h, w, 4), tia.stretch_points(h, w, 5), tia.perspective_points(h, w)):
        ours, ref = tia.warp_complex(ramp, *points), bench._baseline_warp_complex(ramp, *points)
        assert ours.shape == ref.shape and ours.dtype == ref.dtype
        assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
        diff = np.abs(tia.warp_complex(text, *points).astype(int) - bench._baseline_warp_complex(text, *points))
        assert diff.mean() < 0.8 and np.percentile(diff, 99) <= 3


def test_tia_points_follow_upstream_ranges():
    h, w, seg = 40, 120, 4
    cut = w // seg
    for _ in range(50):
        src, dst = tia.distort_points(h, w, seg)
        assert len(src) == len(dst) == 4 + 2 * (seg - 1)
        assert np.all(np.abs((dst - src).real[:4]) < cut // 3) and np.all(np.abs((dst - src).imag[:4]) < cut // 3)
        src, dst = tia.stretch_points(h, w, seg)
        move = (dst - src)[4:]
        assert np.all(move.imag == 0) and np.all(move[0::2] == move[1::2])
        src, dst = tia.perspective_points(h, w)
        assert np.all((dst - src).real == 0) and np.all(np.abs((dst - src).imag) < h // 2)


@pytest.mark.parametrize("shape", [(5, 3), (1, 50), (50, 1), (1, 1), (2, 2), (3, 60), (19, 200)])
def test_tia_tiny_images(shape):
    img = np.random.randint(0, 256, shape + (3,), dtype=np.uint8)
    for fn in (lambda x: tia.tia_distort(x, 6), lambda x: tia.tia_stretch(x, 6), tia.tia_perspective):
        _check_image(fn(img), *shape)


# ---------------------------------------------------------------- RecAug


@pytest.mark.parametrize("params", [{}, {"tia_prob": 0.5, "crop_prob": 0.3, "reverse_prob": 0.3},
                                    {"use_tia": True, "aug_prob": 0.7}, {"use_tia": False, "aug_prob": 1.0}])
def test_recaug_shape_dtype_label(params):
    op = TRANSFORMS.get("RecAug")(**params)
    img = word_image()
    for _ in range(40):
        data = op({"image": img.copy(), "label": "hello42"})
        assert data["label"] == "hello42"
        out = data["image"]
        _check_image(out, w=img.shape[1])
        assert img.shape[0] - 8 <= out.shape[0] <= img.shape[0]     # crop removes 1-8 rows


def test_recaug_signatures():
    old = rec_aug.RecAug(use_tia=False, aug_prob=0.7)
    assert old.legacy and old.probs["distort"] == 0 and old.probs["crop"] == 0.7 and old.probs["jitter"] == 1.0
    assert rec_aug.RecAug(aug_prob=1.0).probs["perspective"] == 1.0          # use_tia defaults to True
    cur = rec_aug.RecAug(tia_prob=0.8, noise_prob=0.5)
    assert not cur.legacy and cur.tia_prob == 0.8 and cur.probs["noise"] == 0.5 and cur.probs["blur"] == 0.4
    default = rec_aug.RecAug()
    assert not default.legacy and default.tia_prob == 0.4 and set(default.probs.values()) == {0.4}
    with pytest.raises(ValueError, match="old signature"):
        rec_aug.RecAug(use_tia=True, tia_prob=0.5)
    with pytest.raises(ValueError, match="aug_prob"):
        rec_aug.RecAug(aug_prob=1.5)
    with pytest.raises(ValueError, match="tia_prob"):
        rec_aug.RecAug(tia_prob="0.5")


def test_recaug_single_ops():
    img = word_image(h=48)
    out = rec_aug.RecAug(**{**ALL_OFF, "reverse_prob": 1.0})({"image": img})["image"]
    assert np.array_equal(out, 255 - img)
    out = rec_aug.RecAug(**ALL_OFF)({"image": img})["image"]
    assert np.array_equal(out, img)
    out = rec_aug.RecAug(**{**ALL_OFF, "tia_prob": 1.0})({"image": img})["image"]
    _check_image(out, *img.shape[:2])
    assert np.abs(out.astype(int) - img.astype(int)).mean() > 2                # the warps moved the text
    out = rec_aug.RecAug(**{**ALL_OFF, "noise_prob": 1.0})({"image": img})["image"]
    assert set(np.unique(img.astype(int) - out.astype(int))) <= {0, 1}        # upstream's weak noise
    out = rec_aug.RecAug(**{**ALL_OFF, "hsv_aug_prob": 1.0})({"image": img})["image"]
    assert np.abs(img.astype(int) - out.astype(int)).max() <= 1
    out = rec_aug.RecAug(**{**ALL_OFF, "blur_prob": 1.0})({"image": img})["image"]
    assert np.array_equal(out, cv2.GaussianBlur(img, (5, 5), 1))


def test_jitter_on_large_image():
    img = np.random.randint(0, 256, (300, 400, 3), dtype=np.uint8)
    np.random.seed(3)
    out = rec_aug.jitter(img)
    _check_image(out, 300, 400)
    assert out[0, 0].tolist() == img[0, 0].tolist()


@pytest.mark.parametrize("shape", [(5, 3), (1, 50), (50, 1), (1, 1), (2, 2, 3), (19, 25, 3), (20, 20, 3), (64, 8, 4)])
@pytest.mark.parametrize("params", [ALL_ON, {"use_tia": True, "aug_prob": 1.0}])
def test_recaug_tiny_and_odd_images(shape, params):
    op = rec_aug.RecAug(**params)
    for _ in range(5):
        img = np.random.randint(0, 256, shape, dtype=np.uint8)
        data = op({"image": img, "label": "ab"})
        _check_image(data["image"])
        assert data["label"] == "ab" and data["image"].shape[1] == shape[1]


def test_recaug_rejects_non_images():
    data = rec_aug.RecAug()({"image": np.zeros((0, 5, 3), np.uint8), "label": "a"})
    assert data is None


# ---------------------------------------------------------------- RandAugment


@pytest.mark.parametrize("magnitude", [0, 5, 9, 10])
def test_randaugment_each_op(magnitude):
    img = word_image()
    for name, (fn, arg) in ra.level_map(magnitude).items():
        out = fn(img, arg, (128.0, 128.0, 128.0))
        _check_image(out, *img.shape[:2])


def test_randaugment_op_semantics():
    img = word_image()
    ops = ra.level_map(9)
    fill = (128.0, 128.0, 128.0)
    assert np.array_equal(ops["invert"][0](img, 0, fill), 255 - img)
    post = ops["posterize"][0](img, ops["posterize"][1], fill)           # int(4 * 0.9) = 3 bits
    assert np.all(post % 32 == 0)
    assert np.all(ra.level_map(0)["posterize"][0](img, 0, fill) == img & 0x80)  # >= 1 bit, never black
    sol = ops["solarize"][0](img, ops["solarize"][1], fill)
    assert np.array_equal(sol, np.where(img >= 230.4, 255 - img, img))
    ac = ops["autocontrast"][0](img, 0, fill)
    assert ac.reshape(-1, 3).min(0).tolist() == [0, 0, 0] and ac.reshape(-1, 3).max(0).tolist() == [255] * 3
    rot = ops["rotate"][0](img, ops["rotate"][1], fill)
    assert rot[0, 0].tolist() == [128, 128, 128]                         # corners filled with fillcolor
    np.random.seed(1)
    assert np.array_equal(ra.level_map(0)["brightness"][0](img, 0.0, fill), img)


def test_randaugment_params():
    assert ra.RandAugment(num_ops=3).num_layers == 3
    assert ra.RandAugment().num_layers == 2 and ra.RandAugment().prob == 0.5
    with pytest.raises(ValueError, match="disagree"):
        ra.RandAugment(num_layers=2, num_ops=3)
    with pytest.raises(ValueError, match="magnitude"):
        ra.RandAugment(magnitude=-1)
    with pytest.raises(ValueError, match="prob"):
        ra.RandAugment(prob=2)


def test_randaugment_label_and_prob_zero_still_converts():
    data = ra.RandAugment(prob=0.0)({"image": np.ones((10, 20), np.float32) * 0.5, "label": "x"})
    _check_image(data["image"], 10, 20)
    assert data["label"] == "x" and data["image"][0, 0].tolist() == [128, 128, 128]


def test_to_uint8_bgr_rules():
    assert ra.to_uint8_bgr(np.array([[0.0, 1.0]]))[0].tolist() == [[0, 0, 0], [255, 255, 255]]    # 0-1 floats
    assert ra.to_uint8_bgr(np.array([[2.0, 300.0, -5.0]]))[0, :, 0].tolist() == [2, 255, 0]         # 0-255, clipped
    assert ra.to_uint8_bgr(np.array([[np.nan, np.inf]]))[0, :, 0].tolist() == [0, 255]
    assert ra.to_uint8_bgr(np.array([[65535, 257]], np.uint16))[0, :, 0].tolist() == [255, 1]
    assert ra.to_uint8_bgr(np.array([[True, False]]))[0, :, 0].tolist() == [255, 0]
    bgra = np.zeros((4, 5, 4), np.uint8)
    bgra[..., 2] = 200
    assert ra.to_uint8_bgr(bgra)[0, 0].tolist() == [0, 0, 200]
    assert ra.to_uint8_bgr(np.zeros((3, 4, 9), np.uint8)).shape == (4, 9, 3)                       # CHW
    assert ra.to_uint8_bgr(np.zeros((1, 4, 9, 1), np.float64)).shape == (4, 9, 3)
    for bad in (np.zeros((0, 4)), np.zeros(5), np.zeros((2, 2, 2, 2)), np.array([["a", "b"]], object)):
        with pytest.raises(ra.ImageFormatError):
            ra.to_uint8_bgr(bad)
    assert ra.RandAugment()({"image": np.zeros(7), "label": "a"}) is None


DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]


@st.composite
def odd_images(draw):
    h, w = draw(st.integers(1, 48)), draw(st.integers(1, 96))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4]))
    dtype = draw(st.sampled_from(DTYPES))
    scale = draw(st.sampled_from([1.0, 255.0, 65535.0, 1e6]))
    shape = (h, w) if channels is None else (h, w, channels)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    values = rng.random(shape) * scale - (scale * 0.1 if draw(st.booleans()) else 0.0)
    if np.issubdtype(dtype, np.floating) and draw(st.booleans()):
        values.flat[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    with np.errstate(invalid="ignore", over="ignore"):
        arr = values.astype(dtype) if dtype is not np.bool_ else values > scale / 2
    return arr


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(img=odd_images(), magnitude=st.floats(0, 10), num_layers=st.integers(0, 4), seed=st.integers(0, 2 ** 31 - 1))
def test_randaugment_property(img, magnitude, num_layers, seed):
    np.random.seed(seed)
    op = ra.RandAugment(prob=1.0, num_layers=num_layers, magnitude=magnitude)
    data = op({"image": img, "label": "abc"})
    _check_image(data["image"], *img.shape[:2])
    assert data["label"] == "abc"
    out = rec_aug.RecAug(**ALL_ON)({"image": img, "label": "abc"})    # RecAug survives the same inputs
    _check_image(out["image"])


# ---------------------------------------------------------------- RecConAug


def _sample(text, h=32, w=None):
    return {"image": word_image(text, h=h) if w is None else cv2.resize(word_image(text), (w, h)), "label": text}


def test_recconaug_concatenates():
    op = RecConAug(prob=1.0, image_shape=[48, 320, 3], max_text_length=25, ext_data_num=2)
    data = _sample("ab", 32, 64)
    data["ext_data"] = [_sample("cd", 40, 80), _sample("efg", 20, 40), _sample("hi", 32, 64)]
    out = op(data)                                   # aspect ratios 2 + 2 + 2 fit 320 / 48; a fourth 2 would not
    assert out["label"] == "abcdefg" and "ext_data" not in out
    _check_image(out["image"], h=48, w=96 * 3)


def test_recconaug_limits():
    op = RecConAug(prob=1.0, image_shape=[32, 320, 3], max_text_length=6, ext_data_num=3)
    data = _sample("abcd", 32, 64)
    data["ext_data"] = [_sample("ef", 32, 64), _sample("g", 32, 32)]
    out = op(data)
    assert out["label"] == "abcdef" and len(out["label"]) <= 6                 # 'g' would exceed 6
    wide = RecConAug(prob=1.0, image_shape=[32, 100, 3], max_text_length=25)
    data = _sample("ab", 32, 64)
    data["ext_data"] = [_sample("cd", 32, 64)]                                   # ratio 2 + 2 > 100/32
    out = wide(data)
    assert out["label"] == "ab" and out["image"].shape == (32, 64, 3)


def test_recconaug_skips():
    op = RecConAug(prob=1.0, image_shape=[32, 320, 3])
    data = _sample("ab", 32, 64)
    assert op(dict(data))["label"] == "ab"                                       # no ext_data: unchanged
    out = RecConAug(prob=0.0)({**data, "ext_data": [_sample("cd", 32, 64)]})
    assert out["label"] == "ab" and "ext_data" not in out
    gray = {"image": cv2.cvtColor(word_image("cd"), cv2.COLOR_BGR2GRAY), "label": "cd"}
    out = op({**data, "ext_data": [None, {"label": "x"}, gray]})                  # malformed skipped, gray ok
    assert out["label"] == "abcd"
    _check_image(out["image"], h=32)
    with pytest.raises(ValueError, match=r"\[32, 320, 3\]"):
        RecConAug(image_shape=[3, 32, 320])


# ---------------------------------------------------------------- configs


def _encoded(samples):
    return [{"image": cv2.imencode(".jpg", s["image"])[1].tobytes(), "label": s["label"]} for s in samples]


@pytest.mark.parametrize("aug", [
    [{"RecAug": None}],
    [{"RecAug": {"use_tia": True, "aug_prob": 0.7}}],
    [{"RecAug": {"use_tia": True, "aug_prob": 1.0}}],
    [{"RecAug": {"tia_prob": 0.8, "crop_prob": 0.5, "reverse_prob": 0.5, "noise_prob": 0.5, "jitter_prob": 0.5,
                 "blur_prob": 0.5, "hsv_aug_prob": 0.5}}],
    [{"RecAug": {"tia_prob": 0.5, "crop_prob": 0.3, "reverse_prob": 0.3, "noise_prob": 0.3, "jitter_prob": 0.3,
                 "blur_prob": 0.3, "hsv_aug_prob": 0.3}}],
    [{"RecAug": None}, {"RandAugment": {"num_ops": 2, "magnitude": 9}}],
    [{"RecConAug": {"prob": 1.0, "ext_data_num": 2, "image_shape": [32, 320, 3]}}, {"RecAug": None},
     {"RandAugment": {"prob": 1.0, "num_layers": 2, "magnitude": 9}}],
])
def test_config_chains(aug):
    ops = create_operators([{"DecodeImage": {"img_mode": "BGR", "channel_first": False}}] + aug + [
        {"CTCLabelEncode": None}, {"RecResizeImg": {"image_shape": [3, 32, 100]}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}], GLOBAL)
    con = [op for op in ops if isinstance(op, RecConAug)]
    assert all(op.max_text_length == 25 for op in con)                           # filled from Global
    encoded = _encoded([_sample(t) for t in ("hello", "world42", "abc", "x9")])
    for i, sample in enumerate(encoded * 5):
        data = dict(sample)
        if con:
            data["ext_data"] = [transform(dict(e), ops[:1]) for e in encoded[:con[0].ext_data_num]]
        image, label, length = transform(data, ops)
        assert image.shape == (3, 32, 100) and image.dtype == np.float32
        assert image.min() >= -1.0 and image.max() <= 1.0
        assert label.shape == (25,) and label.dtype == np.int64
        text = sample["label"]
        assert length >= len(text) if con else length == len(text)
