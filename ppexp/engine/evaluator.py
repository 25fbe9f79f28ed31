"""Evaluation: metrics, eval loss (upstream has none) and fps over a loader."""
import time

import numpy as np
import paddle


def evaluate(model, loader, post_process, metric, loss_fn=None, progress=None, examples=0):
    """Run the model in eval mode over ``loader``; returns metric dict + loss + fps
    (+ ``examples``: the first N (prediction, label) pairs when asked)."""
    model.eval()
    total_time, total_frames, losses, shown = 0.0, 0, [], []
    with paddle.no_grad():
        for batch in loader:
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
            if len(shown) < examples:
                shown.extend((p[0], t[0]) for p, t in zip(*decoded))
            if progress is not None:
                progress.update(1)
    model.train()
    finite = [x for x in losses if np.isfinite(x)]
    loss_sum, loss_n = float(np.sum(finite)), len(finite)
    if paddle.distributed.get_world_size() > 1:  # each rank evaluated its shard: add up the sums
        total_frames, loss_sum, loss_n = _sync_metric(metric, [total_frames, loss_sum, loss_n])
        total_time = _all_reduce([total_time], "max")[0]
    result = metric.get_metric()
    if loss_fn is not None:
        result["loss"] = loss_sum / loss_n if loss_n else float("nan")
    result["fps"] = total_frames / total_time if total_time > 0 else 0.0
    if examples:
        result["examples"] = shown[:examples]
    return result


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
