"""Helpers shared by tests: generated data and config overrides."""
import os

import cv2
import numpy as np

from ppexp.utils.toy_data import make_word_dataset


def make_toy_set(root, n_train=320, n_val=64, seed=0):
    """Word images + train.txt / val.txt under ``root``; returns root as str."""
    root = str(root)
    if not os.path.exists(os.path.join(root, "val.txt")):
        make_word_dataset(root, n_train, seed, name="train.txt")
        make_word_dataset(root, n_val, seed + 1, name="val.txt")
    return root


def make_digit_set(root, n_train, n_val):
    """A few generated digit strings (every digit is in every dictionary); returns root as str."""
    root = str(root)
    make_word_dataset(root, n_train, seed=0, alphabet="0123456789", min_len=4, max_len=7, name="train.txt")
    make_word_dataset(root, n_val, seed=1, alphabet="0123456789", min_len=4, max_len=7, name="val.txt")
    return root


def read_keys_tsv(path):
    """Rows (key, shape list, dtype) of a fixture ``<case>.keys.tsv`` (state_dict order)."""
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, dtype = line.split("\t")
        rows.append((key, [int(d) for d in shape.strip("[]").split(",") if d.strip()], dtype))
    return rows


def data_overrides(root, out_dir):
    return [
        f"Global.save_model_dir={out_dir}",
        f"Train.dataset.data_dir={root}",
        f"Train.dataset.label_file_list=[{root}/train.txt]",
        f"Eval.dataset.data_dir={root}",
        f"Eval.dataset.label_file_list=[{root}/val.txt]",
    ]


def tune_overrides(root):
    """A trial of ~5 steps with an eval every 2: 1 epoch over a small toy set, one process, one thread."""
    return data_overrides(root, "unused")[1:] + [
        "Global.epoch_num=1", "Global.eval_batch_step=[0,2]", "Global.print_batch_step=2",
        "Global.data_parallel=false", "Global.cpu_threads=1",
        "Global.save_epoch_step=100"]


TUNE_SPACE = """\
Optimizer.lr.learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
Architecture.Neck.hidden_size: {type: categorical, choices: [32, 48]}
"""


class StopAt:
    """Trainer callback: interrupt (as SIGINT would: save ``latest`` with the position) after ``step``."""

    def __init__(self, step):
        self.step = step

    def __call__(self, trainer, step):
        if step == self.step:
            trainer._interrupted = True


def generator_plates(two_line, n, clean, seed=11):
    """n synthetic plates (BGR image, label) of the wanted layout, drawn by the plate generator."""
    from ppexp.experiments.synth.dataset import render_index
    from ppexp.experiments.synth.render import check_kinds

    out, i = [], 0
    while len(out) < n:
        buf, label, _, two = render_index(seed, i, check_kinds(None), 0.5, 64, None, clean=clean)
        i += 1
        if two == two_line:
            out.append((cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR), label))
    return out
