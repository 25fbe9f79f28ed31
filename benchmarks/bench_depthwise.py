"""ppexp's CPU depthwise conv (ppexp/modeling/depthwise.py) against paddle's kernel, same process, same run.

    python benchmarks/bench_depthwise.py              # ops + the plate recogniser's and det_mv3_db's train step
    python benchmarks/bench_depthwise.py --repeat 9 --no-models

One core (OMP_NUM_THREADS=1, MKL's AVX2 path on AMD as ppexp sets it). Rows:
- op: forward + backward of one depthwise conv at a shape the models below run (median ms);
- model: a whole training step (forward, loss, backward, Adam) of the shipped plate recogniser
  (configs/rec/plates_pretrain_v5c.yml: MobileNetV3 small 0.5, small_stride [2, 2, 2, 1], reshape neck,
  3x64x192, batch 16) and of det_mv3_db's network (MobileNetV3 large 0.5 + DBFPN + DBHead + DBLoss,
  4x3x320x320 random maps), samples/s.
The two kernels alternate (paddle, ppexp, paddle, ...) --repeat times; medians; the ratio is ppexp / paddle.
The machine should be idle: "foreign" (other processes' CPU, in cores, while timing) above ~0.2 makes
figures unreliable.
"""
import argparse
import os
import statistics
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ppexp.engine import cpu_setup  # noqa: E402  (paddle-free import)

os.environ.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **cpu_setup.mkl_cpu_env()})

import numpy as np  # noqa: E402
import paddle  # noqa: E402

from bench_train import LoadMeter  # noqa: E402
from ppexp.modeling import build_model, depthwise  # noqa: E402

OPS = [  # (what, input shape, kernel, stride)
    ("plate rec 5x5 s(1,1)", [16, 288, 4, 96], 5, (1, 1)),
    ("plate rec 5x5 s(2,1)", [16, 144, 8, 96], 5, (2, 1)),
    ("plate rec 3x3 s(2,1)", [16, 8, 32, 96], 3, (2, 1)),
    ("det 5x5 s(2,2)", [4, 120, 40, 40], 5, (2, 2)),
    ("det 3x3 s(1,1)", [4, 32, 80, 80], 3, (1, 1)),
]


def use_fast(on):
    """Route depthwise convs through ppexp's op (on) or paddle's kernel (off)."""
    if on:
        depthwise._state.update(op=FAST_OP, tried=True, reason=None)
    else:
        depthwise._state.update(op=None, tried=True, reason="benchmark baseline")


def time_op(shape, kernel, stride, steps):
    conv = paddle.nn.Conv2D(shape[1], shape[1], kernel, stride=stride, padding=kernel // 2, groups=shape[1],
                            bias_attr=False)
    x = paddle.randn(shape)
    x.stop_gradient = False
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        depthwise.depthwise_conv2d(x, conv).sum().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]) * 1000


def rec_step():
    paddle.seed(0)
    model = build_model({"model_type": "rec", "algorithm": "CRNN", "Transform": None,
                         "Backbone": {"name": "MobileNetV3", "scale": 0.5, "model_name": "small",
                                      "small_stride": [2, 2, 2, 1]},
                         "Neck": {"name": "SequenceEncoder", "encoder_type": "reshape", "rows": 1},
                         "Head": {"name": "CTCHead", "out_channels": 74}})
    opt = paddle.optimizer.Adam(parameters=model.parameters())
    ctc = paddle.nn.CTCLoss(blank=0)
    x = paddle.randn([16, 3, 64, 192])
    labels = paddle.randint(1, 74, [16, 8]).astype("int32")

    def step():
        logits = model(x)
        steps_ = logits.shape[1]
        loss = ctc(logits.transpose([1, 0, 2]), labels, paddle.full([16], steps_, "int64"),
                   paddle.full([16], 8, "int64")).mean()
        loss.backward()
        opt.step()
        opt.clear_grad()
    return step, 16


def det_step():
    from ppexp.losses import build_loss
    paddle.seed(0)
    model = build_model({"model_type": "det", "algorithm": "DB", "Transform": None,
                         "Backbone": {"name": "MobileNetV3", "scale": 0.5, "model_name": "large"},
                         "Neck": {"name": "DBFPN", "out_channels": 256},
                         "Head": {"name": "DBHead", "k": 50}})
    loss_fn = build_loss({"name": "DBLoss", "balance_loss": True, "main_loss_type": "DiceLoss", "alpha": 5,
                          "beta": 10, "ohem_ratio": 3})
    opt = paddle.optimizer.Adam(parameters=model.parameters())
    rng = np.random.default_rng(0)
    n, side = 4, 320
    x = paddle.to_tensor(rng.standard_normal((n, 3, side, side)).astype("float32"))
    maps = [paddle.to_tensor((rng.random((n, side, side)) > 0.8).astype("float32")) for _ in range(2)]
    masks = [paddle.ones([n, side, side]) for _ in range(2)]
    batch = [x, maps[0], masks[0], maps[1], masks[1]]

    def step():
        loss = loss_fn(model(x), batch)["loss"]
        loss.backward()
        opt.step()
        opt.clear_grad()
    return step, n


def time_model(make, steps):
    step, n = make()
    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="alternations of the two kernels (default 3)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per measurement (default 5)")
    ap.add_argument("--no-models", action="store_true", help="ops only")
    args = ap.parse_args()
    global FAST_OP
    FAST_OP = depthwise.load_op()
    if FAST_OP is None:
        sys.exit(f"the fast depthwise op is not available here: {depthwise.reason()}")
    rows = [(what, lambda s=shape, k=kernel, st=stride: time_op(s, k, st, args.steps), "ms")
            for what, shape, kernel, stride in OPS]
    if not args.no_models:
        rows += [("plate recogniser train step", lambda: time_model(rec_step, args.steps), "samples/s"),
                 ("det_mv3_db train step 320", lambda: time_model(det_step, max(3, args.steps // 2)), "samples/s")]
    print(f"{'row':30s} {'unit':>9s} {'paddle':>9s} {'ppexp':>9s} {'ratio':>7s} {'foreign':>8s}")
    for what, measure, unit in rows:
        figures = {False: [], True: []}
        foreign = []
        for _ in range(args.repeat):
            for on in (False, True):
                use_fast(on)
                meter = LoadMeter()
                meter.start()
                figures[on].append(measure())
                foreign.append(meter.stop())
        base, fast = statistics.median(figures[False]), statistics.median(figures[True])
        ratio = base / fast if unit == "ms" else fast / base
        print(f"{what:30s} {unit:>9s} {base:9.2f} {fast:9.2f} {ratio:6.2f}x {max(foreign):8.2f}")
    print("ratio: how many times faster ppexp's kernel is (median of", args.repeat, "alternations)")


FAST_OP = None

if __name__ == "__main__":
    main()
