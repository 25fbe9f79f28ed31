"""Finding categories and the Report that collects them.

Every category has a default severity ('error' or 'warning'), a scope ('line':
a label-file line, 'image', 'dict': a dictionary line, 'set': across lines or
splits, 'file': a whole label file, its finding's line is None) and the effect
upstream PaddleOCR has on the sample:

- dropped:     CTCLabelEncode / the dataset rejects it and silently trains another sample instead
- altered:     the sample trains, but on a label different from what the file says
- no_gradient: the sample trains with an impossible CTC alignment (no learning signal)
- degraded:    the image is useless after RecResizeImg
- risk:        no change today, but a likely mistake (warnings)

A finding may carry a severity other than its category's default (e.g. a
full-width digit is an error when the dictionary lacks it, a warning when not).
"""
from collections import defaultdict
from dataclasses import dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Category:
    name: str
    severity: str
    scope: str
    effect: str
    title: str
    fix: str


_C = Category
CATEGORIES = {c.name: c for c in [
    # --- per line (reading the label file the way SimpleDataSet does)
    _C("undecodable_bytes", ERROR, "line", "dropped", "line is not valid UTF-8 (upstream's decode raises; sample replaced)",
       "re-save the file as UTF-8 (e.g. iconv -f cp949 -t utf-8)"),
    _C("bom", ERROR, "line", "dropped", "UTF-8 BOM at file start becomes part of the first image path",
       "remove the BOM (save as 'UTF-8', not 'UTF-8 with BOM')"),
    _C("crlf", WARNING, "line", "risk", "CRLF line end: '\\r' stays in the label (counted by max_text_length, dropped by encode)",
       "convert to LF line ends (dos2unix)"),
    _C("blank_line", WARNING, "line", "risk", "blank line (upstream raises IndexError and substitutes a random sample)",
       "delete blank lines"),
    _C("missing_delimiter", ERROR, "line", "dropped", "no delimiter in line (upstream IndexError; sample replaced)",
       "separate image path and label with the configured delimiter (a tab by default)"),
    _C("empty_path", ERROR, "line", "dropped", "empty image path (upstream fails to open it; sample replaced)",
       "put the image path in the first column"),
    _C("extra_columns", ERROR, "line", "altered", "more than two columns: upstream keeps only the second as label",
       "remove the extra delimiters (or labels containing the delimiter)"),
    _C("edge_whitespace", WARNING, "line", "risk", "leading/trailing whitespace in image path or label",
       "strip the fields"),
    _C("lmdb_missing_key", ERROR, "line", "dropped", "LMDB key label-%09d / image-%09d missing (sample replaced)",
       "rebuild the LMDB"),
    # --- per label (CTCLabelEncode -> decode round trip)
    _C("empty_label", ERROR, "line", "dropped", "empty label (CTCLabelEncode returns None)", "label the image or remove the line"),
    _C("label_too_long", ERROR, "line", "dropped", "label longer than max_text_length (CTCLabelEncode returns None)",
       "raise Global.max_text_length or remove the line"),
    _C("no_known_char", ERROR, "line", "dropped", "no character of the label is in the dictionary (CTCLabelEncode returns None)",
       "add the characters to the dictionary"),
    _C("unknown_char", ERROR, "line", "altered", "characters not in the dictionary are dropped silently",
       "add the characters to the dictionary or correct the label"),
    _C("space_not_in_dict", ERROR, "line", "altered", "label contains spaces but use_space_char is false (spaces dropped)",
       "set Global.use_space_char: true or remove the spaces"),
    _C("unicode_nfd", ERROR, "line", "altered", "label is not NFC (decomposed Hangul jamo / combining marks, e.g. macOS file names)",
       "normalise labels to NFC"),
    _C("compat_jamo", ERROR, "line", "altered", "Hangul compatibility jamo (U+3131..U+318E) instead of syllables",
       "write whole syllables, or add the jamo to the dictionary deliberately"),
    _C("fullwidth", ERROR, "line", "altered", "full-width digits/letters (U+FF01..U+FF5E)", "convert to half-width (NFKC)"),
    _C("invisible_char", ERROR, "line", "altered", "zero-width, non-breaking or control characters",
       "remove zero-width characters; use a plain space"),
    _C("roundtrip_mismatch", ERROR, "line", "altered", "encode -> decode does not return the label", "see the message"),
    _C("ctc_infeasible", ERROR, "line", "no_gradient",
       "label needs more CTC time steps than the image width gives (length + adjacent repeats > T)",
       "widen RecResizeImg.image_shape or shorten the label"),
    # --- per det label (DetLabelEncode, MakeShrinkMap, DetMetric)
    _C("det_invalid_json", ERROR, "line", "dropped",
       "det label is not a JSON list of {\"transcription\", \"points\": [[x, y], ...]} (sample replaced)",
       "write the label as upstream's det format (json.dumps of the box list)"),
    _C("det_no_boxes", ERROR, "line", "dropped", "det label lists no boxes (DetLabelEncode returns None; sample replaced)",
       "remove the line, or label the text in the image"),
    _C("det_few_points", ERROR, "line", "altered", "box with fewer than 3 points: no area, never trained (don't care)",
       "give the box its 4 (or more) corner points"),
    _C("det_zero_area", ERROR, "line", "altered", "box encloses (almost) no area: MakeShrinkMap makes it don't care",
       "fix the coordinates (repeated or collinear points?)"),
    _C("det_self_intersecting", ERROR, "line", "altered",
       "self-intersecting box: DetMetric skips it and the shrink/threshold targets are distorted",
       "list the points in order around the box (clockwise from top-left)"),
    _C("det_points_outside", WARNING, "line", "risk",
       "box points outside the image (clipped; a box entirely outside is never trained: error)",
       "fix the coordinates or the image path"),
    _C("det_empty_transcription", WARNING, "line", "risk",
       "box with an empty transcription is trained as text (don't care needs '###' or '*')",
       "write the text, or '###' for a don't-care region"),
    _C("det_duplicate_box", WARNING, "line", "risk", "the same box is listed twice in one image", "remove the repeat"),
    # --- per image (--images)
    _C("image_missing", ERROR, "image", "dropped", "image file does not exist (upstream raises; sample replaced)",
       "fix the path or data_dir"),
    _C("image_zero_size", ERROR, "image", "dropped", "image file is empty / has a zero dimension", "re-export the image"),
    _C("image_unreadable", ERROR, "image", "dropped", "cv2.imdecode cannot decode the image (sample replaced)",
       "re-export the image as PNG/JPEG"),
    _C("image_1px_high", ERROR, "image", "degraded", "image is 1 pixel high or wide: nothing to recognise after resizing",
       "re-crop the text region"),
    _C("image_aspect", WARNING, "image", "risk", "extreme aspect ratio: RecResizeImg squashes or shrinks the text",
       "re-crop, or widen RecResizeImg.image_shape"),
    _C("duplicate_image_content", WARNING, "set", "risk", "identical image content under different paths",
       "remove the copies"),
    # --- across lines / splits
    _C("duplicate_line", WARNING, "set", "risk", "the same image path with the same label is listed again",
       "remove the repeated line"),
    _C("conflicting_labels", ERROR, "set", "altered", "the same image (path or content) is listed with different labels",
       "keep the correct label only"),
    _C("train_eval_leak", ERROR, "set", "risk", "the same image is in Train and Eval (eval metrics are inflated)",
       "remove it from one of the splits"),
    # --- per label file
    _C("synth_set_mismatch", WARNING, "file", "risk",
       "label file of one synthetic set (synth_meta.json) read with data_dir at another set: the image names are "
       "the same, so every image loads with another image's label",
       "point data_dir at the label file's folder, or use the label files in data_dir's folder"),
    # --- per dictionary
    _C("dict_duplicate", WARNING, "dict", "risk", "duplicate dictionary entry (upstream maps it to the last occurrence)",
       "remove the duplicate line"),
    _C("dict_empty_entry", WARNING, "dict", "risk", "empty dictionary line: a class that can never match",
       "delete the empty line"),
    _C("dict_whitespace_entry", WARNING, "dict", "risk", "dictionary entry with leading/trailing whitespace never matches",
       "strip the entry"),
    _C("dict_multichar_entry", WARNING, "dict", "risk", "multi-character dictionary entry never matches (labels are split per character)",
       "one character per line"),
    _C("dict_double_space", WARNING, "dict", "risk", "dictionary has a space entry and use_space_char adds another",
       "remove the space line or set use_space_char: false"),
    _C("dict_not_nfc", WARNING, "dict", "risk", "dictionary entry is not NFC-normalised", "normalise the dictionary to NFC"),
    _C("dict_missing_char", WARNING, "dict", "risk", "label character that is not in the dictionary",
       "add it to the dictionary or fix the labels"),
    _C("dict_unused_entry", WARNING, "dict", "risk", "dictionary entry never used by any label", "fine if intended"),
]}

EFFECT_ORDER = ("dropped", "altered", "no_gradient", "degraded")


class Report:
    """Counts every finding, keeps up to ``max_examples`` per category (0 = all)
    and remembers which samples have errors (for the verdict and --fix)."""

    def __init__(self, max_examples=20):
        self.max_examples = int(max_examples)
        self.counts = defaultdict(int)
        self.severity_counts = defaultdict(int)
        self.category_severity = defaultdict(lambda: defaultdict(int))   # category -> severity -> n
        self.examples = defaultdict(list)
        self.error_lines = defaultdict(set)         # file -> {line}
        self.effect_lines = defaultdict(set)        # effect -> {(file, line)}
        self.warning_lines = defaultdict(set)       # file -> {line}
        self.totals = defaultdict(int)
        self.sections = {}                          # extra report sections (coverage, histogram, ...)
        self.notes = []

    def _keep(self, name):
        return self.max_examples <= 0 or len(self.examples[name]) < self.max_examples

    def add(self, category, message, *, file=None, line=None, dict_line=None, text=None, severity=None,
            effect=None, **extra):
        """Record one finding (``severity`` / ``effect`` override the category's defaults)."""
        cat = CATEGORIES[category]
        severity = severity or cat.severity
        self.counts[category] += 1
        self.severity_counts[severity] += 1
        self.category_severity[category][severity] += 1
        if line is not None:
            self._mark(cat, severity, file, (line,), effect)
        if self._keep(category):
            item = {"category": category, "severity": severity, "file": file}
            if cat.scope == "dict":
                item["dict_line"] = dict_line
            else:
                item["line"] = line
            item["message"] = message
            item["text"] = text
            item.update({k: v for k, v in extra.items() if v is not None})
            self.examples[category].append(item)

    def add_many(self, category, file, lines, message, texts=None, severity=None):
        """Record one finding per line in ``lines`` cheaply (same message for all)."""
        lines = list(lines)
        if not lines:
            return
        cat = CATEGORIES[category]
        severity = severity or cat.severity
        self.counts[category] += len(lines)
        self.severity_counts[severity] += len(lines)
        self.category_severity[category][severity] += len(lines)
        self._mark(cat, severity, file, lines, None)
        room = len(lines) if self.max_examples <= 0 else max(0, self.max_examples - len(self.examples[category]))
        for k, line in enumerate(lines[:room]):
            self.examples[category].append({
                "category": category, "severity": severity, "file": file, "line": line,
                "message": message, "text": texts[k] if texts is not None else None})

    def _mark(self, cat, severity, file, lines, effect):
        effect = effect or cat.effect
        if severity == ERROR:
            self.error_lines[file].update(lines)
            if effect in EFFECT_ORDER:
                self.effect_lines[effect].update((file, ln) for ln in lines)
        else:
            self.warning_lines[file].update(lines)

    @property
    def n_errors(self):
        return self.severity_counts[ERROR]

    @property
    def n_warnings(self):
        return self.severity_counts[WARNING]

    def affected_samples(self):
        return sum(len(v) for v in self.error_lines.values())

    def effect_breakdown(self):
        """Samples per effect, each sample counted once under its first effect in EFFECT_ORDER."""
        seen, out = set(), {}
        for effect in EFFECT_ORDER:
            fresh = self.effect_lines.get(effect, set()) - seen
            out[effect] = len(fresh)
            seen |= fresh
        out["other"] = self.affected_samples() - len(seen)
        return out

    def exit_code(self, strict=False):
        if self.n_errors:
            return 1
        return 1 if strict and self.n_warnings else 0

    def findings(self):
        """All kept findings, errors first, then in category order."""
        order = {name: i for i, name in enumerate(CATEGORIES)}
        cats = sorted(self.examples, key=lambda c: (not self.category_severity[c].get(ERROR), order[c]))
        return [f for c in cats for f in self.examples[c]]
