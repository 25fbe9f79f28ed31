"""The one label-line reader: ``image_path<delimiter>label`` lines as PaddleOCR writes them.

Used by the datasets, the LMDB builder, ``ppexp reset`` / ``doctor`` and ``check-labels``
(no paddle import). Rules, as upstream's SimpleDataSet reads a file:

- lines split at b'\\n' only; a trailing '\\r' is counted and stripped (upstream keeps it in
  the label); a leading UTF-8 BOM is reported and stripped; blank lines are skipped;
- bytes that are not UTF-8 become U+FFFD (the line numbers are kept);
- fields: the image is field 0 (a JSON list there takes its first path), the label field 1
  (``whole_rest``: everything after the first delimiter, for JSON det labels);
- a line without the delimiter is malformed; :func:`suggest_split` tells whether it splits
  unambiguously at whitespace.
"""
import codecs
import json
import re
from dataclasses import dataclass, field

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


def split_fields(text, delimiter, whole_rest=False):
    """(image, label) of one decoded line, or None when it has no ``delimiter``."""
    parts = text.split(delimiter, 1) if whole_rest else text.split(delimiter)
    if len(parts) < 2:
        return None
    return parse_image_field(parts[0]), parts[1]


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


def parse_label_bytes(raw, delimiter="\t", whole_rest=False, path=""):
    """:class:`LabelFile` of a label file's bytes (see the module docstring for the rules)."""
    result = LabelFile(path, bom=raw.startswith(codecs.BOM_UTF8))
    if result.bom:
        raw = raw[len(codecs.BOM_UTF8):]
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        if line.endswith(b"\r"):
            result.crlf, line = result.crlf + 1, line[:-1]
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            result.not_utf8.append(lineno)
        fields = split_fields(text, delimiter, whole_rest)
        if fields is None:
            result.lines.append(LabelLine(lineno, text, malformed=True))
        else:
            result.lines.append(LabelLine(lineno, text, *fields))
    return result


def read_label_lines(path, delimiter="\t", whole_rest=False):
    """:class:`LabelFile` of the file at ``path`` (OSError when it cannot be read)."""
    with open(path, "rb") as f:
        return parse_label_bytes(f.read(), delimiter, whole_rest, path)


def decode_lines(raw):
    """Bytes -> (lines, undecodable) with upstream's line split; undecodable: lineno -> bytes.

    For readers that report line-level detail themselves (check-labels, reset's canonical form):
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
