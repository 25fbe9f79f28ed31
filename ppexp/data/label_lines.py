"""The one label-line reader: ``image_path<delimiter>label`` lines as PaddleOCR writes them.

Used by the datasets, the LMDB builder, ``ppexp reset`` / ``doctor`` and ``check-labels``
(no paddle import). Rules, as upstream's SimpleDataSet reads a file:

- lines split at b'\\n' only (:func:`decode_label_bytes`); a trailing '\\r' is noted and stripped
  (upstream keeps it in the label); a leading UTF-8 BOM is noted and stripped; a line that is
  not UTF-8 is kept as its bytes (the datasets read it with U+FFFD, check-labels reports it);
- blank lines (nothing but whitespace, ``str.strip``) are skipped (:func:`split_lines`);
- fields: the image is field 0 (a JSON list there takes its first path), the label field 1
  (``whole_rest``: everything after the first delimiter, for JSON det labels); lines with more
  than two fields are noted;
- a line without the delimiter is malformed; :func:`suggest_split` tells whether it splits
  unambiguously at whitespace.
"""
import codecs
import json
import re
from dataclasses import dataclass, field
from operator import itemgetter

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jp2", ".pbm", ".pgm", ".ppm")
_WS_RUN = re.compile(r"\s+")


def parse_image_field(field):
    """Upstream allows a JSON list of paths as the image field; take the first."""
    if field.startswith("[") and field.endswith("]"):
        try:
            paths = json.loads(field)
            return paths[0] if paths else field
        except ValueError:
            return field
    return field


@dataclass
class LabelLine:
    lineno: int
    text: str                  # the decoded line without '\r'
    image: str = ""            # '' on a malformed line
    label: str = ""
    malformed: bool = False    # no delimiter


@dataclass
class LabelFile:
    path: str
    lines: list = field(default_factory=list)       # [LabelLine] of the non-blank lines
    bom: bool = False
    crlf: int = 0                                   # lines that ended in '\r\n'
    not_utf8: list = field(default_factory=list)    # line numbers with undecodable bytes

    @property
    def samples(self):
        return [ln for ln in self.lines if not ln.malformed]

    @property
    def malformed(self):
        return [ln.lineno for ln in self.lines if ln.malformed]


@dataclass
class DecodedLines:
    """A label file cut into its physical lines, before the fields (see the module docstring)."""
    lines: list                                         # str per line, BOM and a trailing '\r' removed; None: not UTF-8
    undecodable: dict = field(default_factory=dict)     # lineno -> that line's bytes as in the file
    bom: bool = False
    crlf: list = field(default_factory=list)            # linenos that ended in '\r\n'

    def replaced(self, lineno):
        """Line ``lineno`` with its undecodable bytes as U+FFFD (BOM and '\r' removed as for the others)."""
        chunk = self.undecodable[lineno]
        if lineno == 1 and self.bom:
            chunk = chunk[len(codecs.BOM_UTF8):]
        return chunk.decode("utf-8", errors="replace").removesuffix("\r")


def decode_label_bytes(raw):
    """:class:`DecodedLines` of a label file's bytes: upstream's split at b'\\n', BOM and CRLF noted."""
    lines, bad = decode_lines(raw)
    out = DecodedLines(lines, bad, bom=raw.startswith(codecs.BOM_UTF8))
    if out.bom and lines and lines[0] is not None:
        lines[0] = lines[0][1:]
    if b"\r" in raw:
        for i, ln in enumerate(lines):
            if ln is None:
                if bad[i + 1].endswith(b"\r"):
                    out.crlf.append(i + 1)
            elif ln.endswith("\r"):
                lines[i] = ln[:-1]
                out.crlf.append(i + 1)
    return out


@dataclass
class SplitLines:
    """The fields of decoded lines, one list per column (a million-line file stays fast)."""
    linenos: list = field(default_factory=list)     # per sample
    paths: list = field(default_factory=list)       # image field (a JSON list: its first path)
    labels: list = field(default_factory=list)
    blank: list = field(default_factory=list)       # linenos of blank (all-whitespace) lines
    malformed: list = field(default_factory=list)   # linenos of lines without the delimiter
    extra: dict = field(default_factory=dict)       # sample index -> all fields, when there are more than two


def split_lines(lines, delimiter, whole_rest=False):
    """:class:`SplitLines` of decoded ``lines`` (None, an undecodable line, is left out)."""
    fast = _split_regular(lines, delimiter, whole_rest)
    if fast is not None:
        return fast
    out = SplitLines()
    for lineno, text in enumerate(lines, 1):
        if text is None:
            continue
        if not text.strip():
            out.blank.append(lineno)
            continue
        parts = text.split(delimiter, 1) if whole_rest else text.split(delimiter)
        if len(parts) < 2:
            out.malformed.append(lineno)
            continue
        if len(parts) > 2:
            out.extra[len(out.paths)] = parts
        out.linenos.append(lineno)
        out.paths.append(parse_image_field(parts[0]))
        out.labels.append(parts[1])
    return out


def _split_regular(lines, delimiter, whole_rest):
    """The common case in a few C-speed passes: every line decodable, non-blank, with exactly one delimiter."""
    if None in lines:
        return None
    parts = [ln.partition(delimiter) for ln in lines]
    labels = list(map(itemgetter(2), parts))
    if not all(map(itemgetter(1), parts)) or not all(map(str.strip, lines)):
        return None
    if not whole_rest and delimiter in "\n".join(labels):
        return None
    paths = list(map(itemgetter(0), parts))
    blob = "\n".join(paths)
    if blob.startswith("[") or "\n[" in blob:      # a JSON list image field somewhere
        paths = list(map(parse_image_field, paths))
    return SplitLines(range(1, len(lines) + 1), paths, labels)


def parse_label_bytes(raw, delimiter="\t", whole_rest=False, path=""):
    """:class:`LabelFile` of a label file's bytes; undecodable bytes become U+FFFD, the line is kept."""
    decoded = decode_label_bytes(raw)
    texts = [decoded.replaced(n) if t is None else t for n, t in enumerate(decoded.lines, 1)]
    split = split_lines(texts, delimiter, whole_rest)
    rows = [LabelLine(n, texts[n - 1], p, lab) for n, p, lab in zip(split.linenos, split.paths, split.labels)]
    if split.malformed:
        rows += [LabelLine(n, texts[n - 1], malformed=True) for n in split.malformed]
        rows.sort(key=lambda ln: ln.lineno)
    return LabelFile(path, rows, decoded.bom, len(decoded.crlf), sorted(decoded.undecodable))


def read_label_lines(path, delimiter="\t", whole_rest=False):
    """:class:`LabelFile` of the file at ``path`` (OSError when it cannot be read)."""
    with open(path, "rb") as f:
        return parse_label_bytes(f.read(), delimiter, whole_rest, path)


def decode_lines(raw):
    """Bytes -> (lines, undecodable) with upstream's line split; undecodable: lineno -> bytes.

    The raw material of :func:`decode_label_bytes`; reset's canonical form uses it directly:
    lines keep '\\r' and a BOM, an undecodable line is None.
    """
    try:
        lines = raw.decode("utf-8").split("\n")
        bad = {}
    except UnicodeDecodeError:
        lines, bad = [], {}
        for i, chunk in enumerate(raw.split(b"\n"), 1):
            try:
                lines.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(None)
                bad[i] = chunk
    if lines and lines[-1] == "":
        lines.pop()
    return lines, bad


def suggest_split(line, delimiter):
    """(path, label) when a line without the delimiter splits unambiguously at whitespace, else None.

    Unambiguous: exactly one whitespace run follows an image file name, or the
    line has exactly one whitespace run.
    """
    text = line.strip()
    runs = list(_WS_RUN.finditer(text))
    if not runs:
        return None
    cands = [m for m in runs if text[:m.start()].lower().endswith(IMAGE_EXTS)]
    if len(cands) != 1:
        cands = runs if len(runs) == 1 else []
    if len(cands) != 1 or not text[cands[0].end():]:
        return None
    return text[:cands[0].start()], text[cands[0].end():]


def image_path_of(text, delimiter):
    """The image path a line names, stripped: field 0, else a whitespace split's path, else ''."""
    parts = text.split(delimiter)
    return parts[0].strip() if len(parts) > 1 else (suggest_split(text, delimiter) or ("",))[0]
