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
    share_rank0_statistics(model)  # sharded over data-parallel ranks: each shard scored as the model rank 0 saves
    total_time, total_frames, losses, shown = 0.0, 0, [], []
    with paddle.no_grad():
        for batch in loader:
            if is_empty_batch(batch):  # every sample of the batch was skipped
                if progress is not None:
                    progress.update(1)
                continue
            start = time.time()
            preds, count = forward_batch(model, batch[0])
            total_time += time.time() - start
            total_frames += count
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


def share_rank0_statistics(model):
    """Give every data-parallel rank rank 0's non-trained tensors (BatchNorm running mean/variance).

    Gradients are all-reduced, so the weights agree across ranks, but each rank's BatchNorm running
    statistics come from its own half of every batch. Rank 0 writes the checkpoints; when every rank
    evaluates its shard with rank 0's statistics, the metric is the saved model's (measured: the det
    demo's weights scored precision 0.893 in a 2-worker eval with per-rank statistics, 0.905 in
    `ppexp eval`). Training is unchanged: in train mode BatchNorm uses the batch's statistics."""
    if paddle.distributed.get_world_size() < 2:
        return
    trained = {id(p) for p in model.parameters() if not p.stop_gradient}
    pairs = [(t, t.numpy()) for t in model.state_dict().values() if id(t) not in trained]  # persistable only
    pairs = [(t, a) for t, a in pairs if a.size]
    if not pairs:
        return
    stats, arrays = [t for t, _ in pairs], [a for _, a in pairs]
    # one broadcast of everything as float64 (exact for float32 and small ints), through a fresh tensor:
    # gloo refuses a parameter's own storage ("not in backend's place")
    shared = paddle.to_tensor(np.concatenate([a.astype(np.float64).ravel() for a in arrays]))
    paddle.distributed.broadcast(shared, src=0)
    flat, offset = shared.numpy(), 0
    for tensor, array in zip(stats, arrays):
        tensor.set_value(flat[offset:offset + array.size].reshape(array.shape).astype(array.dtype))
        offset += array.size


def forward_batch(model, images):
    """The model's outputs for a batch of images, and the batch size.

    A ragged batch (a list of CHW arrays of different sizes: detection eval, each image resized to
    its own aspect ratio) runs once per size; each output is zero-padded at the bottom/right to the
    batch's largest. So a sample's prediction does not depend on the other images in its batch,
    the batch size or how eval is sharded over CPU workers: the same as batch size 1 (upstream's
    det eval). Padding the images instead would let the padding reach the maps near each image's
    right and bottom edges through the convolutions' receptive field."""
    if not isinstance(images, list):
        images = images if isinstance(images, paddle.Tensor) else paddle.to_tensor(images)
        return model(images), images.shape[0]
    by_size = {}
    for k, image in enumerate(images):
        by_size.setdefault(tuple(image.shape), []).append(k)
    per_sample = [None] * len(images)
    for indices in by_size.values():
        out = model(paddle.to_tensor(np.stack([images[k] for k in indices])))
        for j, k in enumerate(indices):
            per_sample[k] = {name: value[j] for name, value in out.items()} if isinstance(out, dict) else out[j]
    if isinstance(per_sample[0], dict):
        return {name: _pad_stack([p[name] for p in per_sample]) for name in per_sample[0]}, len(images)
    return _pad_stack(per_sample), len(images)


def _pad_stack(tensors):
    """Same-rank tensors -> one [N, ...] tensor, each zero-padded at the end of every axis to the largest."""
    shape = [max(int(t.shape[axis]) for t in tensors) for axis in range(len(tensors[0].shape))]
    if all(list(t.shape) == shape for t in tensors):
        return paddle.stack(tensors)
    out = paddle.zeros([len(tensors), *shape], dtype=tensors[0].dtype)
    for k, tensor in enumerate(tensors):
        out[(k, *(slice(0, int(n)) for n in tensor.shape))] = tensor
    return out


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
