"""Optimizers, learning-rate schedules, regularizers, clipping and param groups."""
import math
import re

import numpy as np
import paddle
import pytest
from paddle.optimizer import lr as plr

from ppexp.optimizer import (LR_SCHEDULES, OPTIMIZERS, apply_param_groups, build_lr_scheduler,
                             build_optimizer)

PEAK = 1e-3


class TwoPart(paddle.nn.Layer):
    """Tiny model with ``backbone`` and ``head`` submodules."""

    def __init__(self):
        super().__init__()
        self.backbone = paddle.nn.Sequential(paddle.nn.Linear(3, 4), paddle.nn.ReLU(),
                                             paddle.nn.Linear(4, 4))
        self.head = paddle.nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.backbone(x))


def curve(lr_config, epochs=20, step_each_epoch=5, steps=None):
    """lr at every step 0..steps (per-iteration stepping)."""
    sched = build_lr_scheduler(dict(lr_config), epochs, step_each_epoch)
    out = []
    for _ in range((steps or epochs * step_each_epoch) + 1):
        out.append(sched())
        sched.step()
    return out


def paddle_curve(sched, n):
    out = []
    for _ in range(n + 1):
        out.append(sched())
        sched.step()
    return out


def cos_between(high, low, t, period):
    return low + (high - low) * 0.5 * (1 + math.cos(math.pi * t / period))


def weights(model):
    return {n: p.numpy().copy() for n, p in model.named_parameters()}


def zero_grad_step(model, opt):
    """One step whose loss gradient is exactly zero (only decay moves weights)."""
    loss = (model(paddle.ones([2, 3])) * 0.0).sum()
    loss.backward()
    opt.step()
    opt.clear_grad()


# ---------------------------------------------------------------- schedules

def test_const_with_warmup_steps_and_start_lr():
    lrs = curve({"name": "Const", "learning_rate": PEAK, "warmup_steps": 4, "start_lr": 1e-4})
    assert lrs[0] == pytest.approx(1e-4)
    assert lrs[2] == pytest.approx(1e-4 + (PEAK - 1e-4) / 2)
    assert lrs[4] == pytest.approx(PEAK)
    assert lrs[-1] == pytest.approx(PEAK)


def test_no_name_is_constant():
    assert set(curve({"learning_rate": 5e-4}, steps=10)) == {5e-4}


def test_cosine_warmup_epoch_matches_upstream_composition():
    """Upstream: LinearWarmup(CosineAnnealingDecay(T_max=epochs*spe), warmup_epoch*spe)."""
    lrs = curve({"name": "Cosine", "learning_rate": PEAK, "warmup_epoch": 2})
    ref = paddle_curve(plr.LinearWarmup(plr.CosineAnnealingDecay(PEAK, T_max=100),
                                        warmup_steps=10, start_lr=0.0, end_lr=PEAK), 100)
    np.testing.assert_allclose(lrs, ref, rtol=1e-9, atol=1e-12)
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(PEAK / 2) and lrs[10] == pytest.approx(PEAK)
    assert lrs[60] == pytest.approx(PEAK / 2)  # cosine midpoint: 50 steps after warmup


def test_cosine_min_lr_is_eta_min_and_floor():
    lrs = curve({"name": "Cosine", "learning_rate": PEAK, "min_lr": 1e-5}, steps=150)
    assert lrs[0] == pytest.approx(PEAK)
    assert lrs[50] == pytest.approx((PEAK + 1e-5) / 2)
    assert lrs[100] == pytest.approx(1e-5)
    assert lrs[150] == pytest.approx(1e-5)  # clamped past the end


def test_linear_warmup_cosine():
    cfg = {"name": "LinearWarmupCosine", "learning_rate": PEAK, "warmup_steps": 10,
           "start_lr": 1e-5, "min_lr": 1e-6}
    lrs = curve(cfg, steps=130)
    assert lrs[0] == pytest.approx(1e-5)
    assert lrs[5] == pytest.approx((1e-5 + PEAK) / 2)
    assert lrs[10] == pytest.approx(PEAK)
    assert lrs[55] == pytest.approx((PEAK + 1e-6) / 2)  # middle of the 90 cosine steps
    assert lrs[100] == pytest.approx(1e-6)
    assert lrs[130] == pytest.approx(1e-6)
    assert all(b <= a + 1e-15 for a, b in zip(lrs[10:], lrs[11:]))


def test_cyclical_cosine_restarts_every_cycle():
    lrs = curve({"name": "CyclicalCosine", "learning_rate": PEAK, "cycle": 2, "min_lr": 1e-5})
    assert lrs[0] == pytest.approx(PEAK)
    assert lrs[5] == pytest.approx((PEAK + 1e-5) / 2)
    assert lrs[9] == pytest.approx(cos_between(PEAK, 1e-5, 9, 10))
    assert lrs[10] == pytest.approx(PEAK)
    assert lrs[15] == pytest.approx(lrs[5])


@pytest.mark.parametrize("name", ["Step", "StepDecay"])
def test_step_decay_in_epochs(name):
    lrs = curve({"name": name, "learning_rate": PEAK, "step_size": 2, "gamma": 0.5})
    ref = paddle_curve(plr.StepDecay(PEAK, step_size=10, gamma=0.5), 100)
    np.testing.assert_allclose(lrs, ref, rtol=1e-12)
    assert lrs[9] == PEAK and lrs[10] == pytest.approx(PEAK / 2)
    assert lrs[20] == pytest.approx(PEAK / 4)


def test_step_min_lr_floor_and_warmup_shift():
    cfg = {"name": "Step", "learning_rate": PEAK, "step_size": 1, "gamma": 0.1,
           "min_lr": 2e-6, "warmup_steps": 3}
    lrs = curve(cfg)
    assert lrs[0] == 0.0 and lrs[3] == PEAK
    assert lrs[3 + 5] == pytest.approx(1e-4)  # decay counted from the end of warmup
    assert lrs[3 + 15] == pytest.approx(2e-6) and lrs[-1] == pytest.approx(2e-6)


def test_multistep_decay():
    lrs = curve({"name": "MultiStepDecay", "learning_rate": PEAK, "milestones": [2, 5],
                 "gamma": 0.1})
    ref = paddle_curve(plr.MultiStepDecay(PEAK, milestones=[10, 25], gamma=0.1), 100)
    np.testing.assert_allclose(lrs, ref, rtol=1e-12)
    assert lrs[9] == PEAK and lrs[10] == pytest.approx(1e-4) and lrs[25] == pytest.approx(1e-5)


def test_piecewise_with_warmup_to_first_value():
    cfg = {"name": "Piecewise", "decay_epochs": [2, 4], "values": [1e-3, 1e-4, 1e-5],
           "warmup_steps": 4}
    lrs = curve(cfg)
    assert lrs[2] == pytest.approx(5e-4) and lrs[4] == pytest.approx(1e-3)
    assert lrs[4 + 9] == 1e-3 and lrs[4 + 10] == 1e-4 and lrs[4 + 20] == 1e-5


def test_piecewise_length_mismatch():
    with pytest.raises(ValueError, match=r"Optimizer\.lr\.values: expected len\(decay_epochs\)"):
        curve({"name": "Piecewise", "decay_epochs": [2], "values": [1e-3]})


def test_linear_polynomial():
    cfg = {"name": "Linear", "learning_rate": PEAK, "end_lr": 1e-5, "power": 2.0}
    lrs = curve(cfg, steps=120)
    ref = paddle_curve(plr.PolynomialDecay(PEAK, decay_steps=100, end_lr=1e-5, power=2.0), 120)
    np.testing.assert_allclose(lrs, ref, rtol=1e-9)
    assert lrs[50] == pytest.approx((PEAK - 1e-5) * 0.25 + 1e-5)
    assert lrs[100] == pytest.approx(1e-5) and lrs[120] == pytest.approx(1e-5)


def test_one_cycle():
    lrs = curve({"name": "OneCycle", "max_lr": 0.01}, steps=99)  # 100 steps, pct_start 0.3
    low, end = 0.01 / 25, 0.01 / 25 / 1e4
    assert lrs[0] == pytest.approx(low)
    assert lrs[29] == pytest.approx(0.01)
    assert lrs[64] == pytest.approx((0.01 + end) / 2)  # half way through the down phase
    assert lrs[99] == pytest.approx(end)
    lin = curve({"name": "OneCycle", "max_lr": 0.01, "anneal_strategy": "linear"}, steps=99)
    assert lin[14] == pytest.approx(low + (0.01 - low) * 14 / 29)
    three = curve({"name": "OneCycle", "max_lr": 0.01, "three_phase": True}, steps=99)
    assert three[29] == pytest.approx(0.01) and three[58] == pytest.approx(low)
    assert three[99] == pytest.approx(end)


def test_one_cycle_warmup_as_upstream():
    lrs = curve({"name": "OneCycle", "max_lr": 0.01, "warmup_steps": 10}, steps=40)
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.005)
    assert lrs[10] == pytest.approx(0.01 / 25)  # the cycle starts after warmup
    assert lrs[39] == pytest.approx(0.01)


def test_warmup_epoch_fraction_and_both_forms_rejected():
    lrs = curve({"name": "Const", "learning_rate": PEAK, "warmup_epoch": 0.5}, step_each_epoch=10)
    assert lrs[4] < PEAK and lrs[5] == PEAK
    with pytest.raises(ValueError, match="warmup_epoch or warmup_steps"):
        curve({"name": "Const", "learning_rate": PEAK, "warmup_epoch": 1, "warmup_steps": 3})


@pytest.mark.parametrize("cfg", [
    {"name": "Cosine", "learning_rate": PEAK, "warmup_epoch": 2, "min_lr": 1e-6},
    {"name": "OneCycle", "max_lr": 0.01, "warmup_steps": 5},
    {"name": "MultiStepDecay", "learning_rate": PEAK, "milestones": [3]},
])
def test_scheduler_state_round_trip(cfg):
    a = build_lr_scheduler(dict(cfg), 20, 5)
    for _ in range(17):
        a.step()
    b = build_lr_scheduler(dict(cfg), 20, 5)
    b.set_state_dict(a.state_dict())
    assert b.last_epoch == a.last_epoch == 17 and b() == a()
    a.step()
    b.step()
    assert b() == a()


def test_optimizer_state_carries_scheduler():
    cfg = {"name": "Adam", "lr": {"name": "Cosine", "learning_rate": PEAK, "warmup_steps": 3}}
    opt, sched = build_optimizer(cfg, 10, 5, TwoPart())
    for _ in range(7):
        sched.step()
    opt2, sched2 = build_optimizer(cfg, 10, 5, TwoPart())
    opt2.set_state_dict(opt.state_dict())
    assert sched2.last_epoch == 7 and sched2() == pytest.approx(sched())


# ---------------------------------------------------------------- config values

def test_string_numbers_accepted():
    cfg = {"name": "Adam", "beta1": "0.9", "beta2": "0.999", "epsilon": "1e-8",
           "clip_norm": "10", "regularizer": {"name": "L2", "factor": "3e-5"},
           "lr": {"name": "MultiStepDecay", "learning_rate": "1e-3", "milestones": ["2", 5],
                  "gamma": "0.1", "warmup_steps": "1e1"}}
    opt, sched = build_optimizer(cfg, "20", "5", TwoPart())
    assert sched.peak == 1e-3 and sched.milestones == [10, 25] and sched.warmup_steps == 10
    assert isinstance(opt, paddle.optimizer.Adam)


@pytest.mark.parametrize("cfg, message", [
    ({"name": "Adam", "lr": {"name": "Cosine", "learning_rate": "abc"}},
     "Optimizer.lr.learning_rate: expected a number, got 'abc'"),
    ({"name": "Adam", "beta1": "x", "lr": {"learning_rate": 1e-3}},
     "Optimizer.beta1: expected a number, got 'x'"),
    ({"name": "Adam", "lr": {"learning_rate": 1e-3}, "regularizer": {"name": "L2", "factor": "?"}},
     "Optimizer.regularizer.factor: expected a number, got '?'"),
    ({"name": "SGD", "clip_norm": "big", "lr": {"learning_rate": 1e-3}},
     "Optimizer.clip_norm: expected a number, got 'big'"),
    ({"name": "Adam", "lr": {"name": "Const", "learning_rate": 1e-3, "warmup_steps": 2.5}},
     "Optimizer.lr.warmup_steps: expected a whole number, got 2.5"),
    ({"name": "Adam", "lr": {"name": "Cosine", "learning_rate": 1e-3, "warmup_step": 5}},
     "Optimizer.lr: Cosine has no option 'warmup_step'. Did you mean 'warmup_steps'?"),
    ({"name": "Adam", "betaa1": 0.9, "lr": {"learning_rate": 1e-3}},
     "Optimizer: Adam has no option 'betaa1'. Did you mean 'beta1'?"),
    ({"name": "Adam", "lr": {"learning_rate": 1e-3}, "param_groups": [{"prefix": "a", "lr_mul": 0.1}]},
     "Optimizer.param_groups[0]: param_group has no option 'lr_mul'. Did you mean 'lr_mult'?"),
    ({"name": "Momentum", "lr": {"learning_rate": 1e-3}},
     "Optimizer.momentum: required for Momentum"),
    ({"name": "Adam", "clip_norm": 1, "clip_norm_global": 1, "lr": {"learning_rate": 1e-3}},
     "clip_norm or clip_norm_global, not both"),
    ({"name": "Adam", "lr": {"learning_rate": 1e-3}, "regularizer": {"name": "L3", "factor": 1}},
     "Optimizer.regularizer: expected {name: L1|L2"),
])
def test_bad_values_name_the_key(cfg, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_optimizer(cfg, 10, 5, TwoPart())


@pytest.mark.parametrize("section, name", [("optimizer", "Adamm"), ("lr", "Cosin")])
def test_unknown_names_list_known_ones(section, name):
    cfg = {"name": "Adam", "lr": {"name": "Cosine", "learning_rate": 1e-3}}
    if section == "optimizer":
        cfg["name"], known = name, OPTIMIZERS.names()
    else:
        cfg["lr"]["name"], known = name, LR_SCHEDULES.names()
    with pytest.raises(KeyError) as err:
        build_optimizer(cfg, 10, 5, TwoPart())
    assert name in str(err.value) and all(k in str(err.value) for k in known)


# ---------------------------------------------------------------- decay and clipping

@pytest.mark.parametrize("extra", [{"regularizer": {"name": "L2", "factor": 0.5}},
                                   {"regularizer": {"name": "L2Decay", "factor": 0.5}},
                                   {"weight_decay": 0.5}])
def test_l2_decay_with_zero_gradient(extra):
    model = TwoPart()
    opt, _ = build_optimizer({"name": "SGD", "lr": {"learning_rate": 0.1}, **extra}, 1, 1, model)
    before = weights(model)
    zero_grad_step(model, opt)
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.numpy(), before[n] * (1 - 0.1 * 0.5), rtol=1e-5, atol=1e-7)


def test_l1_decay_with_zero_gradient():
    model = TwoPart()
    cfg = {"name": "SGD", "lr": {"learning_rate": 0.1},
           "regularizer": {"name": "L1", "factor": 0.01}}
    opt, _ = build_optimizer(cfg, 1, 1, model)
    w = model.head.weight.numpy().copy()
    zero_grad_step(model, opt)
    np.testing.assert_allclose(model.head.weight.numpy(), w - 0.1 * 0.01 * np.sign(w), atol=1e-7)


def test_adamw_decoupled_decay_and_exclusions():
    model = TwoPart()
    cfg = {"name": "AdamW", "weight_decay": 0.5, "no_weight_decay_name": "head",
           "one_dim_param_no_weight_decay": True, "lr": {"learning_rate": 0.1}}
    opt, _ = build_optimizer(cfg, 1, 1, model)
    before = weights(model)
    zero_grad_step(model, opt)
    after = weights(model)
    np.testing.assert_allclose(after["backbone.0.weight"], before["backbone.0.weight"] * 0.95,
                               rtol=1e-5)
    for name in ("backbone.0.bias", "head.weight", "head.bias"):
        np.testing.assert_allclose(after[name], before[name], rtol=1e-6)


class TwoParams(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.a = self.create_parameter([4], default_initializer=paddle.nn.initializer.Constant(0.0))
        self.b = self.create_parameter([4], default_initializer=paddle.nn.initializer.Constant(0.0))


@pytest.mark.parametrize("key, expect_a, expect_b", [
    ("clip_norm", 1.0, 1.0),                                  # each tensor clipped on its own
    ("clip_norm_global", 3 / 5, 4 / 5),                       # one norm over both tensors
])
def test_gradient_clipping(key, expect_a, expect_b):
    model = TwoParams()
    opt, _ = build_optimizer({"name": "SGD", key: 1.0, "lr": {"learning_rate": 1.0}}, 1, 1, model)
    (model.a.sum() * 30 + model.b.sum() * 40).backward()  # grad norms 60 and 80, global 100
    opt.step()
    assert np.linalg.norm(model.a.numpy()) == pytest.approx(expect_a, rel=1e-5)
    assert np.linalg.norm(model.b.numpy()) == pytest.approx(expect_b, rel=1e-5)


# ---------------------------------------------------------------- param groups

def _unit_grad_step(model, opt):
    sum(p.sum() for p in model.parameters()).backward()  # gradient 1 everywhere
    opt.step()
    opt.clear_grad()


def test_param_groups_scale_backbone_sgd():
    model = TwoPart()
    cfg = {"name": "SGD", "lr": {"learning_rate": 0.5},
           "param_groups": [{"prefix": "backbone", "lr_mult": "0.1"}]}
    opt, _ = build_optimizer(cfg, 1, 1, model)
    before = weights(model)
    _unit_grad_step(model, opt)
    for n, p in model.named_parameters():
        step = 0.05 if n.startswith("backbone.") else 0.5
        np.testing.assert_allclose(before[n] - p.numpy(), step, rtol=1e-5)


def test_param_groups_longest_prefix_wins_with_adam():
    model = TwoPart()
    cfg = {"name": "Adam", "lr": {"learning_rate": 0.01},
           "param_groups": [{"prefix": "backbone", "lr_mult": 0.1},
                            {"prefix": "backbone.2.", "lr_mult": 0.0}]}
    opt, _ = build_optimizer(cfg, 1, 1, model)
    before = weights(model)
    _unit_grad_step(model, opt)
    moved = {n: np.abs(before[n] - p.numpy()).max() for n, p in model.named_parameters()}
    assert moved["backbone.0.weight"] == pytest.approx(0.001, rel=1e-3)  # Adam's first step ~ lr
    assert moved["backbone.2.weight"] == 0.0
    assert moved["head.weight"] == pytest.approx(0.01, rel=1e-3)


def test_param_groups_idempotent_and_unmatched_prefix():
    model = TwoPart()
    apply_param_groups(model, [{"prefix": "head", "lr_mult": 0.5}])
    counts = apply_param_groups(model, [{"prefix": "head", "lr_mult": 0.5}])
    assert counts == {"head": 2} and model.head.weight.optimize_attr["learning_rate"] == 0.5
    with pytest.raises(ValueError, match="'back' matches no parameter. Top-level prefixes: "
                                         "backbone, head"):
        apply_param_groups(model, [{"prefix": "back", "lr_mult": 0.1}])


# ---------------------------------------------------------------- every optimizer

@pytest.mark.parametrize("name, extra", [
    ("Adam", {}), ("AdamW", {}), ("Momentum", {"momentum": 0.9}),
    ("RMSProp", {}), ("SGD", {}),
])
def test_each_optimizer_builds_and_steps(name, extra):
    model = TwoPart()
    cfg = {"name": name, **extra, "clip_norm_global": 5,
           "lr": {"name": "LinearWarmupCosine", "learning_rate": 0.01, "warmup_steps": 2},
           "regularizer": {"name": "L2", "factor": 1e-4}}
    opt, sched = build_optimizer(cfg, 2, 3, model)
    before = weights(model)
    for _ in range(3):
        sched.step()  # leave the lr-0 first warmup step
        loss = (model(paddle.randn([4, 3])) ** 2).mean()
        loss.backward()
        opt.step()
        opt.clear_grad()
    after = weights(model)
    assert any(not np.allclose(before[n], after[n]) for n in before)
    assert all(np.isfinite(v).all() for v in after.values())


def test_no_lr_section_uses_constant_learning_rate():
    _, sched = build_optimizer({"name": "Adam"}, 1, 1, TwoPart())
    assert sched() == 0.001
    _, sched = build_optimizer({"name": "Adam", "learning_rate": "2e-4"}, 1, 1, TwoPart())
    sched.step()
    assert sched() == 2e-4


def test_upstream_fixture_configs_build(fixtures_dir):
    yaml = pytest.importorskip("yaml")
    paths = sorted(fixtures_dir.rglob("*.yml"))
    assert paths
    for path in paths:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "Optimizer" not in config:
            continue
        epochs = config.get("Global", {}).get("epoch_num", 10)
        opt, sched = build_optimizer(config["Optimizer"], epochs, 10, TwoPart())
        assert sched() >= 0.0, path


def test_lr_schedules_and_optimizers_are_checked_by_registry_build():
    """The typed registries convert options to their annotations inside Registry.build itself."""
    sched = LR_SCHEDULES.build({"name": "Cosine", "learning_rate": "2e-3", "warmup_steps": "3"},
                               where="Optimizer.lr", epochs=2, step_each_epoch=5)
    assert sched.peak == 0.002 and sched.warmup_steps == 3 and isinstance(sched.warmup_steps, int)
    with pytest.raises(ValueError, match=re.escape("Optimizer.lr.min_lr: expected a number, got 'low'")):
        LR_SCHEDULES.build({"name": "Cosine", "learning_rate": 1e-3, "min_lr": "low"},
                           where="Optimizer.lr", epochs=2, step_each_epoch=5)
    with pytest.raises(ValueError, match=re.escape("Optimizer.lr: Cosine has no option 'epochs'")):
        LR_SCHEDULES.build({"name": "Cosine", "learning_rate": 1e-3, "epochs": 3},   # code passes epochs
                           where="Optimizer.lr", epochs=2, step_each_epoch=5)
