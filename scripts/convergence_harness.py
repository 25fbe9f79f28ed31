"""Controlled convergence runs behind docs/plates_convergence.md: a plain Adam loop, 1 thread.

Images are decoded, augmented once (the config's Train transforms) and resized up front, then batches are
drawn at random; lr is held constant. Every 50 steps it prints the mean loss of the last 50, and val acc /
norm_edit_dis every --eval-every steps, as JSON lines. Two runs fit side by side on a 2-core machine.

    .venv/bin/python scripts/convergence_harness.py -c configs/rec/plates_demo_warmup.yml --steps 500 \\
        -o Architecture.Neck.encoder_type=rnn Architecture.Neck.hidden_size=64 --save /tmp/rnn.pdparams
    .venv/bin/python scripts/convergence_harness.py -c configs/rec/plates_demo.yml --init /tmp/rnn.pdparams \\
        --init-only backbone --lstm-scale 4 -o Architecture.Neck.encoder_type=rnn Architecture.Neck.hidden_size=64

--split-eval prints val acc separately for images narrower than aspect 3 (two-line and short plates) and the rest.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import paddle  # noqa: E402

from ppexp.config import get_config  # noqa: E402
from ppexp.data.loader import build_dataset  # noqa: E402
from ppexp.engine.builder import build_components  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-c", "--config", required=True)
    ap.add_argument("-o", "--opt", nargs="*", default=[], help="config overrides Key.sub=value")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--init", help=".pdparams to start from (keys with equal shapes are loaded)")
    ap.add_argument("--init-only", default="", help="load only keys containing this text, e.g. backbone")
    ap.add_argument("--lstm-scale", type=float, help="multiply every LSTM weight_ih by this after init")
    ap.add_argument("--save", help="write the final weights here")
    ap.add_argument("--split-eval", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


def init_weights(model, args):
    if args.init:
        own, src = model.state_dict(), paddle.load(args.init)
        keep = {k: v for k, v in src.items()
                if k in own and list(v.shape) == list(own[k].shape) and args.init_only in k}
        model.set_state_dict(keep)
        print(f"loaded {len(keep)} of {len(own)} tensors from {args.init}", flush=True)
    if args.lstm_scale:
        for name, param in model.named_parameters():
            if "lstm" in name and "weight_ih" in name:
                param.set_value(param.numpy() * args.lstm_scale)


def preload(cfg, mode, charset):
    """(images, labels, lengths) arrays and the dataset (for image paths)."""
    ds = build_dataset(cfg, mode, seed=0, charset=charset)
    items = [ds[i] for i in range(len(ds))]
    return [np.stack([x[j] for x in items]) for j in range(3)], ds


def accuracy(parts, arrays, index):
    parts.model.eval()
    ok = 0
    parts.metric.reset()
    for i in range(0, len(index), 128):
        idx = index[i:i + 128]
        out = parts.model(paddle.to_tensor(arrays[0][idx])).numpy()
        preds, labels = parts.post_process(out, arrays[1][idx])
        ok += sum(p[0] == t[0] for p, t in zip(preds, labels))
        parts.metric((preds, labels))
    parts.model.train()
    return ok / max(1, len(index)), parts.metric.get_metric()


def split_by_aspect(ds):
    groups = {"aspect<3": [], "aspect>=3": []}
    for i, sample in enumerate(ds.samples):
        img = cv2.imread(os.path.join(ds.data_dir, sample[2]))
        groups["aspect<3" if img.shape[1] / img.shape[0] < 3 else "aspect>=3"].append(i)
    return groups


def main():
    args = parse_args()
    cfg, _ = get_config(args.config, args.opt)
    paddle.seed(args.seed)
    parts = build_components(cfg)
    init_weights(parts.model, args)
    train, _ = preload(cfg, "Train", parts.charset)
    val, val_ds = preload(cfg, "Eval", parts.charset)
    opt = paddle.optimizer.Adam(learning_rate=args.lr, parameters=parts.model.parameters())
    rng, losses, t0 = np.random.default_rng(args.seed), [], time.time()
    for step in range(1, args.steps + 1):
        idx = rng.choice(len(train[0]), args.batch_size, replace=False)
        batch = [paddle.to_tensor(a[idx]) for a in train]
        loss = parts.loss(parts.model(batch[0]), batch)["loss"]
        loss.backward()
        opt.step()
        opt.clear_grad()
        losses.append(float(loss))
        if step % 50 == 0:
            rec = {"step": step, "loss": round(float(np.mean(losses[-50:])), 2), "s": round(time.time() - t0)}
            if step % args.eval_every == 0:
                _, metric = accuracy(parts, val, np.arange(len(val[0])))
                rec.update({k: round(metric[k], 3) for k in ("acc", "norm_edit_dis")})
            print(json.dumps(rec), flush=True)
    if args.split_eval:
        for name, index in split_by_aspect(val_ds).items():
            print(json.dumps({"group": name, "n": len(index), "acc": round(accuracy(parts, val, index)[0], 3)}))
    if args.save:
        paddle.save(parts.model.state_dict(), args.save)


if __name__ == "__main__":
    main()
