"""SimpleDataSet: label files of ``image_path<delimiter>label`` lines (PaddleOCR format)."""
import logging
import os
import random
from collections import Counter

from ppexp.data.datasets import DATASETS
from ppexp.data.datasets.accounting import reason_key
from ppexp.data.datasets.base import DatasetError, RecDatasetBase
from ppexp.data.imaug.det_label_ops import det_label_problem
from ppexp.data.imaug.label_ops import check_label
from ppexp.data.imaug.registry import declares
from ppexp.data.label_lines import read_label_lines

logger = logging.getLogger("ppexp")


def _as_list(value, name, n=None):
    if value is None:
        return [1.0] * (n or 0)
    items = value if isinstance(value, (list, tuple)) else [value]
    if n is not None and len(items) == 1 and n > 1:
        items = list(items) * n
    if n is not None and len(items) != n:
        raise DatasetError(f"{name} has {len(items)} entries but label_file_list has {n}")
    return list(items)


@DATASETS.register()
class SimpleDataSet(RecDatasetBase):
    """Reads ``label_file_list`` (sampled by ``ratio_list``), images under ``data_dir``."""

    def __init__(self, config, mode, global_config, seed=None):
        super().__init__(config, mode, global_config, seed)
        ds = self.dataset_config
        self.delimiter = ds.get("delimiter", "\t")
        self.data_dir = ds.get("data_dir") or ""
        # det labels are JSON: everything after the first delimiter is the label (upstream keeps
        # only the second field, which breaks a JSON label containing the delimiter)
        self.det = any(declares(op, "whole_line_label") for op in self.ops)
        files = _as_list(ds.get("label_file_list"), f"{mode}.dataset.label_file_list")
        if not files:
            raise DatasetError(f"{mode}.dataset.label_file_list is empty; list your label files there")
        ratios = _as_list(ds.get("ratio_list", 1.0), f"{mode}.dataset.ratio_list", len(files))
        self.samples = []  # (label_file, line_no, image_rel, label)
        for path, ratio in zip(files, ratios):
            self.samples.extend(self._read_label_file(path, float(ratio), seed))
        if not self.samples:
            raise DatasetError(f"{mode}: no usable lines in {files}")
        self._prevalidate(mode)

    def _read_label_file(self, path, ratio, seed):
        if not os.path.isfile(path):
            raise DatasetError(f"label file '{path}' does not exist (check {self.mode.capitalize()}.dataset.label_file_list)")
        parsed = read_label_lines(path, self.delimiter, whole_rest=self.det)
        if parsed.bom:
            logger.warning("%s: starts with a UTF-8 BOM; it is ignored (run `ppexp check-labels`)", path)
        lines = [(path, ln.lineno, ln.image, ln.label) for ln in parsed.samples]
        crlf, malformed, not_utf8 = parsed.crlf, parsed.malformed, parsed.not_utf8
        if not_utf8:
            logger.warning("%s: %d line(s) are not valid UTF-8 (first: line %s); their undecodable bytes become "
                           "U+FFFD in the label. Re-save the file as UTF-8 (`ppexp check-labels --fix`)",
                           path, len(not_utf8), not_utf8[:5])
        if crlf:
            logger.warning("%s: %d lines end in CRLF; the '\\r' is stripped (upstream keeps it in the label)", path, crlf)
        if malformed:
            logger.warning(
                "%s: %d lines have no %r delimiter and are skipped (first: line %s); run `ppexp check-labels`",
                path, len(malformed), self.delimiter, malformed[:5])
            if len(malformed) > len(lines):
                raise DatasetError(
                    f"{path}: {len(malformed)} of {len(malformed) + len(lines)} lines lack the delimiter "
                    f"{self.delimiter!r}; set {self.mode.capitalize()}.dataset.delimiter to the one the file uses")
        if ratio < 1.0:  # upstream: a seeded random sample of round(n * ratio) lines
            rng = random.Random(self.seed if self.seed is not None else 0)
            lines = rng.sample(lines, int(round(len(lines) * ratio)))
        return lines

    def _prevalidate(self, mode):
        """Say up front how many labels the label encoder will reject, and stop if most are."""
        enc = self.label_encoder()
        if enc is not None:
            check, name = (lambda label: check_label(label, enc.charset, enc.max_text_len)), "CTCLabelEncode"
            hint = "Check Global.character_dict_path, max_text_length and the label files"
        elif self.det:
            check, name, hint = det_label_problem, "DetLabelEncode", "Check the det label files"
        else:
            return
        reasons, first = Counter(), []
        for path, lineno, _, label in self.samples:
            reason = check(label)
            if reason:
                reasons[reason_key(reason)] += 1
                if len(first) < 3:
                    first.append(f"{path}:{lineno}: {reason}")
        bad = sum(reasons.values())
        if bad:
            logger.warning("%s: %d of %d labels will be rejected by %s (%s; first: %s); run `ppexp check-labels`",
                           mode, bad, len(self.samples), name, dict(reasons), "; ".join(first))
        if bad > len(self.samples) / 2:
            raise DatasetError(
                f"{mode}: {bad} of {len(self.samples)} labels are rejected by {name} ({dict(reasons)}; first: "
                f"{'; '.join(first)}). {hint} (`ppexp check-labels -c ...`).")

    def __len__(self):
        return len(self.samples)

    def describe(self, idx):
        path, lineno, _, _ = self.samples[idx]
        return f"{path}:{lineno}"

    def load(self, idx):
        _, _, rel, label = self.samples[idx]
        img_path = os.path.join(self.data_dir, rel)
        data = {"img_path": img_path, "label": label}
        try:
            with open(img_path, "rb") as f:
                data["image"] = f.read()
        except OSError:
            data["_reject"] = "missing image"
        return data
