"""Model building: upstream state_dict layout and numerics, registry errors."""
import copy

import numpy as np
import paddle
import pytest

from helpers import read_keys_tsv
from ppexp.modeling import build_model
from ppexp.modeling.param_attrs import fresh_names

RNN = "rnn"


def _arch(backbone, encoder_type, hidden_size, classes):
    return {
        "model_type": "rec", "algorithm": "CRNN", "Transform": None,
        "Backbone": backbone,
        "Neck": {"name": "SequenceEncoder", "encoder_type": encoder_type,
                 "hidden_size": hidden_size},
        "Head": {"name": "CTCHead", "fc_decay": 0.0, "out_channels": classes},
    }


# Case -> Architecture section, as listed in ../shared/fixtures/paddleocr/README.md.
CASES = {
    "r34_vd_bilstm_ctc_37": _arch({"name": "ResNet", "layers": 34}, RNN, 256, 37),
    "r18_vd_bilstm_h256_ctc_37": _arch({"name": "ResNet", "layers": 18}, RNN, 256, 37),
    "mv3_large_0.5_bilstm_h96_ctc_37": _arch(
        {"name": "MobileNetV3", "model_name": "large", "scale": 0.5}, RNN, 96, 37),
    "mv3_small_0.35_noSE_fc_h48_ctc_20": _arch(
        {"name": "MobileNetV3", "model_name": "small", "scale": 0.35, "disable_se": True},
        "fc", 48, 20),
    "mv3_small_0.5_bilstm_h48_ctc_20": _arch(
        {"name": "MobileNetV3", "model_name": "small", "scale": 0.5}, RNN, 48, 20),
}
TINY = _arch({"name": "MobileNetV3", "model_name": "small", "scale": 0.35}, "fc", 48, 20)


def test_every_fixture_case_is_covered(fixtures_dir):
    found = {p.name[: -len(".keys.tsv")] for p in (fixtures_dir / "models").glob("*.keys.tsv")}
    assert found and found <= set(CASES), f"unmapped fixture cases: {sorted(found - set(CASES))}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_state_dict_matches_upstream(fixtures_dir, case):
    path = fixtures_dir / "models" / f"{case}.keys.tsv"
    if not path.exists():
        pytest.skip(f"{path} missing")
    model = build_model(CASES[case])
    got = [(k, list(v.shape), str(v.dtype).replace("paddle.", ""))
           for k, v in model.state_dict().items()]
    assert got == read_keys_tsv(path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_reference_output_matches_upstream(fixtures_dir, case):
    path = fixtures_dir / "models" / f"{case}.reference.npz"
    if not path.exists():
        pytest.skip(f"no reference weights for {case}")
    ref = np.load(path)
    model = build_model(CASES[case])
    weights = {k[len("param:"):]: ref[k] for k in ref.files if k.startswith("param:")}
    assert set(weights) == set(model.state_dict())
    model.set_state_dict(weights)
    model.eval()
    out = model(paddle.to_tensor(ref["input"])).numpy()
    assert out.shape == ref["output_eval_softmax"].shape
    np.testing.assert_allclose(out, ref["output_eval_softmax"], atol=1e-5, rtol=0)


def test_two_resnet34_in_one_process():
    arch = _arch({"name": "ResNet", "layers": 34}, "reshape", 48, 11)
    first, second = build_model(arch), build_model(arch)
    assert list(first.state_dict()) == list(second.state_dict())
    second.eval()
    out = second(paddle.rand([1, 3, 32, 100]))
    assert list(out.shape) == [1, 25, 11]


def test_train_logits_eval_softmax():
    model = build_model(TINY)
    x = paddle.rand([2, 3, 32, 100])
    model.train()
    logits = model(x)
    assert list(logits.shape) == [2, 25, 20]
    assert not np.allclose(logits.numpy().sum(-1), 1.0)
    model.eval()
    probs = model(x).numpy()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_head_fc_decay_is_l2_on_fc_params():
    arch = copy.deepcopy(TINY)
    arch["Head"]["fc_decay"] = 0.001
    head = build_model(arch).head
    for param in (head.fc.weight, head.fc.bias):
        assert isinstance(param.regularizer, paddle.regularizer.L2Decay)
        assert param.regularizer._coeff == pytest.approx(0.001)


def test_build_does_not_mutate_config():
    arch = copy.deepcopy(TINY)
    build_model(arch)
    assert arch == TINY


def test_unknown_backbone_lists_known_names():
    arch = copy.deepcopy(TINY)
    arch["Backbone"] = {"name": "MobileNetV9"}
    with pytest.raises(KeyError) as err:
        build_model(arch)
    msg = str(err.value)
    assert "Architecture.Backbone" in msg and "MobileNetV3" in msg and "ResNet" in msg


def test_unknown_option_is_reported():
    arch = copy.deepcopy(TINY)
    arch["Backbone"]["scael"] = 0.5
    with pytest.raises(ValueError, match="Did you mean 'scale'"):
        build_model(arch)


def test_missing_head_out_channels():
    arch = copy.deepcopy(TINY)
    del arch["Head"]["out_channels"]
    with pytest.raises(ValueError, match="Head.out_channels is missing"):
        build_model(arch)


def test_unknown_encoder_type_and_transform():
    arch = copy.deepcopy(TINY)
    arch["Neck"]["encoder_type"] = "lstm"
    with pytest.raises(ValueError, match="known: reshape, fc, residual_rnn, rnn"):
        build_model(arch)
    arch = copy.deepcopy(TINY)
    arch["Transform"] = {"name": "TPS"}
    with pytest.raises(ValueError, match="Transform"):
        build_model(arch)


@pytest.mark.parametrize("options", [
    {"name": "MobileNetV3", "model_name": "small", "scale": 0.35},
    {"name": "MobileNetV3", "model_name": "large", "scale": 0.35},
    {"name": "MobileNetV3", "model_name": "large", "scale": 0.35, "large_stride": [2, 2, 2, 2]},
    {"name": "ResNet", "layers": 18},
])
def test_backbone_width_stride_is_what_the_network_does(options):
    """check-labels computes CTC time steps as width // width_stride: it must match the feature width."""
    from ppexp.modeling.registry import BACKBONES

    cls = BACKBONES.get(options["name"])
    with fresh_names():  # ResNet names its parameters; a second ResNet in this process must not clash
        backbone = BACKBONES.build(options)
    backbone.eval()
    out = backbone(paddle.zeros([1, 3, 32, 320]))
    assert out.shape[-1] == 320 // cls.width_stride(**{k: v for k, v in options.items() if k != "name"})
