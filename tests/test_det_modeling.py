"""Det model building (MobileNetV3 / ResNet_vd + DBFPN + DBHead): upstream layout and numerics.

Fixtures: ../shared/fixtures/paddleocr/det (configs/, models/<case>.keys.tsv, .reference.npz).
"""
import copy

import numpy as np
import paddle
import pytest
import yaml

from helpers import read_keys_tsv
from ppexp.modeling import build_model

TINY = {
    "model_type": "det", "algorithm": "DB", "Transform": None,
    "Backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.35},
    "Neck": {"name": "DBFPN", "out_channels": 64},
    "Head": {"name": "DBHead", "k": 50},
}
# Fixture case -> upstream config whose Architecture it is (None: the TINY section above).
CASES = {
    "det_mv3_db": "det_mv3_db.yml",
    "det_r50_vd_db": "det_r50_vd_db.yml",
    "det_res18_db_v2.0": "det_res18_db_v2.0.yml",
    "ch_det_mv3_db_v2.0": "ch_det_mv3_db_v2.0.yml",
    "tiny_mv3_small_x0.35_db": None,
}
# Reference outputs: eval shrink map and train-mode shrink/threshold maps to 1e-4. The train-mode
# binary map 1/(1+exp(-50 (P - T))) multiplies float32 noise by up to k/4 = 12.5: with batch-1
# BatchNorm statistics over 2x2 maps, a 1e-7 relative change of the input moves it by 2e-4 and
# upstream's own reference is 2.5e-4 away from a float64 run, so it gets 5e-4 (measured 1.9e-4).
ATOL = 1e-4
BINARY_ATOL = 5e-4


@pytest.fixture(scope="module")
def det_dir(fixtures_dir):
    path = fixtures_dir / "det"
    if not path.is_dir():
        pytest.skip(f"{path} missing")
    return path


def _upstream_arch(det_dir, config_name):
    return yaml.safe_load((det_dir / "configs" / config_name).read_text())["Architecture"]


@pytest.fixture(scope="module")
def models(det_dir):
    """Each case's model, built once for the module (R50 takes a while)."""
    built = {}

    def get(case):
        if case not in built:
            arch = TINY if CASES[case] is None else _upstream_arch(det_dir, CASES[case])
            built[case] = build_model(arch)
        return built[case]

    return get


def test_every_fixture_case_is_covered(det_dir):
    found = {p.name[: -len(".keys.tsv")] for p in (det_dir / "models").glob("*.keys.tsv")}
    assert found and found <= set(CASES), f"unmapped fixture cases: {sorted(found - set(CASES))}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_state_dict_matches_upstream(det_dir, models, case):
    path = det_dir / "models" / f"{case}.keys.tsv"
    if not path.exists():
        pytest.skip(f"{path} missing")
    got = [(k, list(v.shape), str(v.dtype).replace("paddle.", ""))
           for k, v in models(case).state_dict().items()]
    assert got == read_keys_tsv(path)


def _step(shrink, threshold, k=50):
    return 1.0 / (1.0 + np.exp(-k * (shrink.astype(np.float64) - threshold)))


@pytest.mark.parametrize("case", ["ch_det_mv3_db_v2.0", "tiny_mv3_small_x0.35_db"])
def test_reference_outputs_match_upstream(det_dir, case):
    ref = np.load(det_dir / "models" / f"{case}.reference.npz")
    model = build_model(TINY if CASES[case] is None else _upstream_arch(det_dir, CASES[case]))
    weights = {k[len("param:"):]: ref[k] for k in ref.files if k.startswith("param:")}
    assert set(weights) == set(model.state_dict())
    model.set_state_dict(weights)
    image = paddle.to_tensor(ref["input"])

    model.eval()
    out = model(image)
    assert list(out) == ["maps"]
    assert out["maps"].shape == list(ref["maps"].shape) == [1, 1, 64, 64]
    np.testing.assert_allclose(out["maps"].numpy(), ref["maps"], atol=ATOL, rtol=0)

    model.train()
    maps = model(image)["maps"].numpy()
    expected = ref["train_mode:maps"]
    assert maps.shape == expected.shape == (1, 3, 64, 64)
    np.testing.assert_allclose(maps[:, :2], expected[:, :2], atol=ATOL, rtol=0)
    np.testing.assert_allclose(maps[:, 2], expected[:, 2], atol=BINARY_ATOL, rtol=0)
    # the binary map is the step function of this model's own shrink and threshold maps
    np.testing.assert_allclose(maps[:, 2], _step(maps[:, 0], maps[:, 1]), atol=1e-6, rtol=0)


@pytest.mark.parametrize("case", ["det_r50_vd_db", "det_res18_db_v2.0"])
def test_resnet_det_forward_shapes(models, case):
    model = models(case)
    image = paddle.rand([1, 3, 64, 64])
    model.eval()
    feats = model.backbone(image)
    assert [f.shape[1] for f in feats] == model.backbone.out_channels
    assert [f.shape[2] for f in feats] == [16, 8, 4, 2]
    assert model(image)["maps"].shape == [1, 1, 64, 64]
    model.train()
    maps = model(image)["maps"]
    assert maps.shape == [1, 3, 64, 64]
    assert float(maps.min()) >= 0.0 and float(maps.max()) <= 1.0


@pytest.mark.parametrize("config", ["det_mv3_db.yml", "det_r50_vd_db.yml", "det_res18_db_v2.0.yml",
                                    "ch_det_mv3_db_v2.0.yml", "ch_det_res18_db_v2.0.yml"])
def test_upstream_det_configs_build_unchanged(det_dir, models, config):
    arch = _upstream_arch(det_dir, config)
    case = config[: -len(".yml")]
    model = models(case) if case in CASES else build_model(arch)
    assert model.model_type == "det"
    assert model.head.k == arch["Head"]["k"]
    assert model.neck.out_channels == arch["Neck"]["out_channels"]


def test_resnet_out_channels_per_depth():
    def backbone(**options):
        arch = {**TINY, "Neck": None, "Head": None, "Backbone": {"name": "ResNet_vd", **options}}
        return build_model(arch).backbone

    assert backbone(layers=34).out_channels == [64, 128, 256, 512]
    selected = backbone(layers=18, out_indices=[1, 3])
    assert selected.out_channels == [128, 512]
    assert [f.shape[1] for f in selected(paddle.rand([1, 3, 64, 64]))] == [128, 512]


def test_mobilenet_large_stages_and_disable_se():
    arch = copy.deepcopy(TINY)
    arch["Backbone"] = {"name": "MobileNetV3", "model_name": "large", "scale": 0.5, "disable_se": True}
    backbone = build_model(arch).backbone
    assert backbone.out_channels == [16, 24, 56, 480]
    assert not any(".mid_se." in key for key in backbone.state_dict())
    feats = backbone(paddle.rand([1, 3, 64, 64]))
    assert [list(f.shape[1:]) for f in feats] == [[16, 16, 16], [24, 8, 8], [56, 4, 4], [480, 2, 2]]


def test_rec_and_det_mobilenet_share_a_name_not_a_class():
    rec = {"model_type": "rec", "Transform": None,
           "Backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.35},
           "Neck": {"name": "SequenceEncoder", "encoder_type": "reshape"},
           "Head": {"name": "CTCHead", "out_channels": 11}}
    rec_backbone, det_backbone = build_model(rec).backbone, build_model(TINY).backbone
    assert type(rec_backbone) is not type(det_backbone)
    assert isinstance(rec_backbone.out_channels, int) and len(det_backbone.out_channels) == 4


def test_backbone_of_the_other_model_type_names_the_fix():
    arch = copy.deepcopy(TINY)
    arch["Backbone"] = {"name": "ResNet", "layers": 18}
    with pytest.raises(KeyError, match="'ResNet' is a rec backbone.*model_type is 'det'.*ResNet_vd"):
        build_model(arch)
    arch = copy.deepcopy(TINY)
    arch["Backbone"] = {"name": "PPLCNetV3", "scale": 0.75, "det": True}
    with pytest.raises(KeyError, match="Unknown det backbone 'PPLCNetV3'.*MobileNetV3"):
        build_model(arch)


def test_bad_det_config_errors_name_the_key():
    arch = copy.deepcopy(TINY)
    arch["model_type"] = "cls"
    with pytest.raises(ValueError, match="model_type.*det, rec"):
        build_model(arch)
    arch = copy.deepcopy(TINY)
    arch["Head"]["kk"] = 50
    with pytest.raises(ValueError, match="DBHead has no option 'kk'. Did you mean 'k'"):
        build_model(arch)
    arch = copy.deepcopy(TINY)
    arch["Backbone"] = {"name": "ResNet_vd", "layers": 50, "dcn_stage": [False, True, True, True]}
    with pytest.raises(ValueError, match="dcn_stage.*not implemented"):
        build_model(arch)
    arch = copy.deepcopy(TINY)
    arch["model_type"] = "rec"
    arch["Backbone"]["name"] = "MobileNetV3"
    with pytest.raises(ValueError, match="DBFPN.*4 feature maps.*model_type: det"):
        build_model(arch)


def test_build_does_not_mutate_config():
    arch = copy.deepcopy(TINY)
    build_model(arch)
    assert arch == TINY


# RSEFPN / LKPAN: no upstream weights or key lists in the fixtures; checked against upstream's
# layer layout (db_fpn.py) and for shapes. PP-OCRv3_mobile_det.yml builds unchanged.
def test_ppocrv3_mobile_det_config_builds_with_rsefpn(det_dir):
    arch = _upstream_arch(det_dir, "PP-OCRv3_mobile_det.yml")
    model = build_model(arch)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items() if k.startswith("neck.")}
    for i, width in enumerate(model.backbone.out_channels):
        assert shapes[f"neck.ins_conv.{i}.in_conv.weight"] == [96, width, 1, 1]
        assert shapes[f"neck.ins_conv.{i}.se_block.conv1.weight"] == [24, 96, 1, 1]
        assert shapes[f"neck.inp_conv.{i}.in_conv.weight"] == [24, 96, 3, 3]
        assert shapes[f"neck.inp_conv.{i}.se_block.conv2.weight"] == [24, 6, 1, 1]
    assert len(shapes) == 4 * 2 * 5
    assert list(shapes)[:2] == ["neck.ins_conv.0.in_conv.weight", "neck.ins_conv.0.se_block.conv1.weight"]
    model.eval()
    assert model(paddle.rand([1, 3, 64, 64]))["maps"].shape == [1, 1, 64, 64]


@pytest.mark.parametrize("mode", ["large", "lite"])
def test_lkpan_modes(mode):
    arch = copy.deepcopy(TINY)
    arch["Neck"] = {"name": "LKPAN", "out_channels": 32, "mode": mode}
    model = build_model(arch)
    keys = list(model.state_dict())
    groups = [k.split(".")[1] for k in keys if k.startswith("neck.")]
    assert sorted(set(groups), key=groups.index) == ["ins_conv", "inp_conv", "pan_head_conv", "pan_lat_conv"]
    assert ("neck.inp_conv.0.conv_end.weight" in keys) == (mode == "lite")
    assert "neck.pan_lat_conv.0.conv_end.weight" not in keys
    model.train()
    assert model(paddle.rand([1, 3, 64, 64]))["maps"].shape == [1, 3, 64, 64]


def test_unimplemented_neck_options_are_errors():
    for neck in ({"name": "RSEFPN", "out_channels": 96, "intracl": True},
                 {"name": "LKPAN", "out_channels": 96, "intracl": True}):
        arch = copy.deepcopy(TINY)
        arch["Neck"] = neck
        with pytest.raises(ValueError, match="intracl.*not implemented"):
            build_model(arch)
    arch = copy.deepcopy(TINY)
    arch["Neck"] = {"name": "LKPAN", "out_channels": 96, "mode": "small"}
    with pytest.raises(ValueError, match="mode must be 'large' or 'lite'"):
        build_model(arch)
    arch = copy.deepcopy(TINY)
    arch["Neck"]["use_asf"] = True
    with pytest.raises(ValueError, match="use_asf.*not implemented"):
        build_model(arch)
