"""Curves as PNG files (matplotlib, Agg backend: no display needed)."""
import os

import numpy as np

PANELS = (
    ("EVAL/acc", "eval acc", False),
    ("TRAIN/acc", "train acc", False),
    ("TRAIN/loss", "train loss", True),
    ("TRAIN/lr", "learning rate", True),
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _plot(ax, series, label, log=False, **kw):
    if series is None or not len(series):
        return False
    x, y = series.downsample()
    if log:
        y = np.where(y > 0, y, np.nan)
    ax.plot(x, y, label=label, linewidth=1.2, **kw)
    return True


def _finish(ax, title, log, any_data):
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("global step", fontsize=8)
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=8)
    if not any_data:
        ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color="gray")
    elif log:
        ax.set_yscale("log")


def compare_figure(runs, out, metric="EVAL/acc"):
    """Overlay eval metric, train acc, loss and lr of several runs (2x2 panels); returns ``out``."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=100)
    panels = ((metric, metric.split("/", 1)[-1].replace("_", " ") + " (eval)", False),) + PANELS[1:]
    for ax, (tag, title, log) in zip(axes.flat, panels):
        any_data = False
        for i, run in enumerate(runs):
            any_data |= _plot(ax, run.get(tag), run.name, log, color=f"C{i % 10}")
        _finish(ax, title, log, any_data)
    handles, labels = [], []
    for ax in axes.flat:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    _save(fig, out, plt)
    return out


def run_figure(run, out, best_step=None, marks=()):
    """One run: accuracy (train+eval), loss (train+eval), norm_edit_dis and lr; ``marks`` are
    (step, label) pairs drawn as vertical lines (e.g. diagnosis evidence)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=100)
    groups = (
        ("accuracy", (("TRAIN/acc", "train"), ("EVAL/acc", "eval")), False),
        ("loss", (("TRAIN/loss", "train"), ("EVAL/loss", "eval")), True),
        ("norm_edit_dis", (("TRAIN/norm_edit_dis", "train"), ("EVAL/norm_edit_dis", "eval")), False),
        ("learning rate", (("TRAIN/lr", "lr"),), True),
    )
    for ax, (title, tags, log) in zip(axes.flat, groups):
        any_data = False
        for k, (tag, label) in enumerate(tags):
            marker = "o" if tag.startswith("EVAL") else None
            any_data |= _plot(ax, run.get(tag), label, log, color=f"C{k}", marker=marker, markersize=3)
        if best_step is not None:
            ax.axvline(best_step, color="green", linestyle="--", linewidth=0.8, label="best")
        for step, label in marks:
            ax.axvline(step, color="red", linestyle=":", linewidth=0.8)
        _finish(ax, title, log, any_data)
        if any_data:
            ax.legend(fontsize=8)
    fig.suptitle(run.name, fontsize=11)
    fig.tight_layout()
    _save(fig, out, plt)
    return out


def _save(fig, out, plt):
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
