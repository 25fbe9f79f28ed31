"""Evaluation: metrics, eval loss (upstream has none) and fps over a loader.

Each readable sample is scored exactly once; samples the dataset cannot load are
skipped (never replaced) and reported as ``skipped`` / ``skipped_by_reason``.
"""
import time

import numpy as np
import paddle

from ppexp.data.datasets.accounting import REASONS
from ppexp.data.loader import is_empty_batch


def evaluate(model, loader, post_process, metric, loss_fn=None, progress=None, examples=0):
    """Run the model in eval mode over ``loader``; returns metric dict + loss + fps
    (+ ``examples``: the first N (prediction, label) pairs when asked; ``examples=-1``: every pair,
    in loader order), ``samples`` scored, ``skipped`` and ``skipped_by_reason``."""
    drops = getattr(getattr(loader, "dataset", None), "drops", None)
    if drops is not None:
        drops.snapshot_and_reset()
    model.eval()
    total_time, total_frames, losses, shown = 0.0, 0, [], []
    with paddle.no_grad():
        for batch in loader:
            if is_empty_batch(batch):  # every sample of the batch was skipped
                if progress is not None:
                    progress.update(1)
                continue
            images = batch[0] if isinstance(batch[0], paddle.Tensor) else paddle.to_tensor(batch[0])
            start = time.time()
            preds = model(images)
            total_time += time.time() - start
            total_frames += images.shape[0]
            if loss_fn is not None:
                losses.append(_eval_loss(loss_fn, preds, batch))
            labels = batch[1].numpy() if hasattr(batch[1], "numpy") else batch[1]
            decoded = post_process(preds, labels)
            metric(decoded, batch)
            if examples < 0 or len(shown) < examples:
                shown.extend((p[0], t[0]) for p, t in zip(*decoded))
            if progress is not None:
                progress.update(1)
    model.train()
    finite = [x for x in losses if np.isfinite(x)]
    loss_sum, loss_n = float(np.sum(finite)), len(finite)
    if paddle.distributed.get_world_size() > 1:  # each rank evaluated its shard: add up the sums
        total_frames, loss_sum, loss_n = _sync_metric(metric, [total_frames, loss_sum, loss_n])
        total_time = _all_reduce([total_time], "max")[0]
    skipped = _skipped(drops)
    result = metric.get_metric()
    if loss_fn is not None:
        result["loss"] = loss_sum / loss_n if loss_n else float("nan")
    result["fps"] = total_frames / total_time if total_time > 0 else 0.0
    result.update(samples=int(total_frames), skipped=sum(skipped.values()), skipped_by_reason=skipped)
    if examples:
        result["examples"] = shown if examples < 0 else shown[:examples]
    return result


def log_skipped(result, log):
    """Warn when the evaluation skipped samples (they are not in the metrics)."""
    if result.get("skipped"):
        reasons = ", ".join(f"{k}: {v}" for k, v in result["skipped_by_reason"].items())
        log.warning("evaluation skipped %d sample(s) it could not load (%s); the metrics cover the %d scored "
                    "samples. Run `ppexp check-labels` to find them.", result["skipped"], reasons, result["samples"])


def _skipped(drops):
    """Samples skipped in this evaluation by reason, summed over ranks."""
    counts = drops.snapshot_and_reset() if drops is not None else {}
    if paddle.distributed.get_world_size() > 1:
        summed = _all_reduce([counts.get(r, 0) for r in REASONS])
        counts = {r: int(c) for r, c in zip(REASONS, summed) if c}
    return counts


def _eval_loss(loss_fn, preds, batch):
    """The training loss on eval batches: CTC on log-probabilities of the softmaxed output.

    In eval mode CTCHead returns softmax; CTC loss applies its own log-softmax,
    so feeding log(softmax) gives exactly the training-mode loss.
    """
    logits = paddle.log(paddle.clip(preds, min=1e-12))
    tensors = [b if isinstance(b, paddle.Tensor) else paddle.to_tensor(b) for b in batch]
    return float(loss_fn(logits, tensors)["loss"])


_SUM_FIELDS = ("correct_num", "all_num", "norm_edit_dis",  # RecMetric
               "gt_care", "det_care", "det_matched")        # DetMetric


def _all_reduce(values, op="sum"):
    tensor = paddle.to_tensor(np.asarray(values, dtype="float64"))
    reduce_op = paddle.distributed.ReduceOp.MAX if op == "max" else paddle.distributed.ReduceOp.SUM
    paddle.distributed.all_reduce(tensor, op=reduce_op)
    return tensor.numpy().tolist()


def _sync_metric(metric, extra):
    """Sum the metric's accumulators (RecMetric's / DetMetric's counts) and ``extra`` over ranks, in place."""
    fields = [f for f in _SUM_FIELDS if hasattr(metric, f)]
    summed = _all_reduce([getattr(metric, f) for f in fields] + list(extra))
    for field, value in zip(fields, summed):
        setattr(metric, field, value)
    return summed[len(fields):]
