"""Read label files the way upstream's SimpleDataSet does, recording line-level findings.

Upstream: ``f.readlines()`` on bytes (split at b'\\n' only), ``line.decode('utf-8')``,
``line.strip('\\n').split(delimiter)``, image path = field 0, label = field 1.
The lines are read by ppexp.data.label_lines (the reader the datasets use); this
module records, per physical line, why upstream's view differs from what the user
meant (BOM, CRLF, undecodable bytes, blank lines, missing delimiter, extra columns,
whitespace around the path).
"""
import codecs
import os
from dataclasses import dataclass, field

import numpy as np

from ppexp.data.label_lines import decode_label_bytes, split_lines, suggest_split

# every code point for which str.isspace() is true
WHITESPACE = np.array([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
                       *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000], dtype=np.uint32)


@dataclass
class ParsedFile:
    """Samples of one label file: parallel lists indexed by sample."""
    source: object
    n_lines: int = 0
    n_samples: int = 0                          # non-blank lines (upstream's dataset length minus blanks)
    linenos: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    labels: list = field(default_factory=list)  # label as upstream sees it, minus a trailing '\r'
    cr: set = field(default_factory=set)        # sample indices whose label lost a trailing '\r'
    repairs: dict = field(default_factory=dict)  # lineno -> (path, label) for repairable delimiter errors
    lmdb_env: object = None

    @property
    def file(self):
        return self.source.file

    def ref(self, i):
        """Image reference of sample i (full path; LMDB: key)."""
        return self.refs()[i]

    def label_blob(self):
        """All labels joined by '\\n' (computed once)."""
        if getattr(self, "_label_blob", None) is None:
            self._label_blob = "\n".join(self.labels)
        return self._label_blob

    def path_blob(self):
        if getattr(self, "_path_blob", None) is None:
            self._path_blob = "\n".join(self.paths)
        return self._path_blob

    def plain_paths(self):
        """True when the paths need no normalisation (no './', '//', absolute paths)."""
        blob = self.path_blob()
        return "./" not in blob and "//" not in blob and not blob.startswith("/") and "\n/" not in blob

    def refs(self):
        """Image references of all samples: os.path.join(data_dir, path), normalised (computed once)."""
        if getattr(self, "_refs", None) is None:
            if self.source.kind != "file":
                self._refs = list(self.paths)
            else:
                self._refs = image_refs(self.source.data_dir, self.paths, self.plain_paths())
        return self._refs


def image_refs(data_dir, paths, plain=False):
    """os.path.join(data_dir, p) for every p, fast; normalised unless ``plain`` paths."""
    prefix = os.path.normpath(data_dir) + "/" if data_dir else ""
    if plain:
        return [prefix + p for p in paths] if prefix else list(paths)
    return [os.path.normpath(os.path.join(prefix, p)) for p in paths]


def _guess_legacy(chunk):
    for enc in ("cp949", "gbk", "shift_jis", "latin-1"):
        try:
            return enc, chunk.decode(enc)
        except UnicodeDecodeError:
            continue
    return None, None


def read_label_file(source, report, raw=None):
    """Parse one label file (or ``raw`` bytes standing in for it) into a ParsedFile."""
    if raw is None:
        with open(source.file, "rb") as f:
            raw = f.read()
    pf = ParsedFile(source)
    name = source.file
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        n = raw.decode("utf-16").count("\n") + 1
        pf.n_lines = pf.n_samples = n
        report.add_many("undecodable_bytes", name, range(1, n + 1),
                        "file is UTF-16 (Windows 'Unicode'); upstream reads UTF-8: every line fails")
        return pf
    decoded = decode_label_bytes(raw)
    lines = decoded.lines
    pf.n_lines = len(lines)
    if decoded.bom and lines and lines[0] is not None:
        first = lines[0] + ("\r" if decoded.crlf[:1] == [1] else "")    # as upstream sees it
        report.add("bom", "file starts with a UTF-8 BOM: upstream looks for image '\\ufeff" + first.split(
            source.delimiter)[0] + "'", file=name, line=1, text=first)
    for lineno, chunk in decoded.undecodable.items():
        enc, _ = _guess_legacy(chunk)
        hint = f"; the bytes decode as {enc}" if enc and enc != "latin-1" else ""
        report.add("undecodable_bytes", f"not valid UTF-8{hint}", file=name, line=lineno,
                   text=chunk[:200].decode("utf-8", "backslashreplace"))
    if b"\r" in raw:
        report.add_many("crlf", name, [n for n in decoded.crlf if lines[n - 1] is not None],
                        "CRLF line end: upstream keeps '\\r' at the end of the label")
    _take_samples(pf, split_lines(lines, source.delimiter), decoded, source, report)
    return pf


def _take_samples(pf, split, decoded, source, report):
    """Fill ``pf`` from the reader's columns; report blank lines, missing delimiters, extra columns."""
    pf.linenos, pf.paths, pf.labels = split.linenos, split.paths, split.labels
    pf.n_samples = len(decoded.lines) - len(split.blank)
    for lineno in split.malformed:
        _missing_delimiter(pf, lineno, decoded.lines[lineno - 1], source, report)
    for i, parts in split.extra.items():
        _extra_columns(split.linenos[i], parts, source, report)
    report.add_many("blank_line", source.file, split.blank, "blank line")
    if decoded.crlf:    # a label lost a trailing '\r' when it is the line's last field
        crlf = set(decoded.crlf)
        pf.cr = {i for i, n in enumerate(split.linenos) if n in crlf and i not in split.extra}
    _check_paths(pf, report)


def _missing_delimiter(pf, lineno, line, source, report):
    guess = suggest_split(line, source.delimiter)
    delim = "TAB" if source.delimiter == "\t" else repr(source.delimiter)
    if guess:
        pf.repairs[lineno] = guess
        msg = (f"no {delim} delimiter; looks like '{guess[0]}' + label '{guess[1]}' separated by whitespace "
               "(upstream IndexError: sample replaced); --fix repairs it")
    else:
        msg = f"no {delim} delimiter (upstream IndexError: sample replaced)"
    report.add("missing_delimiter", msg, file=source.file, line=lineno, text=line)


def _extra_columns(lineno, parts, source, report):
    extra = parts[2:]
    if all(not x.strip() for x in extra):
        report.add("extra_columns", "trailing delimiter: an empty extra column (ignored by upstream)",
                   file=source.file, line=lineno, text=source.delimiter.join(parts), severity="warning")
    else:
        report.add("extra_columns", f"{len(parts)} columns: upstream trains label '{parts[1]}' and ignores "
                   f"{extra!r}", file=source.file, line=lineno, text=source.delimiter.join(parts))


def _check_paths(pf, report):
    """Empty image paths and paths with leading/trailing whitespace do not resolve."""
    paths = pf.paths
    empty = [pf.linenos[i] for i, p in enumerate(paths) if not p] if "" in paths else []
    report.add_many("empty_path", pf.file, empty, "empty image path: upstream opens data_dir itself and fails")
    if not paths:
        return
    from ppexp.experiments.labels.label_checks import as_codes, line_layout

    codes = as_codes(pf.path_blob())
    starts, lens = line_layout(codes, len(paths))
    ok = lens > 0
    edge = np.zeros(len(paths), dtype=bool)
    edge[ok] = np.isin(codes[starts[ok]], WHITESPACE) | np.isin(codes[starts[ok] + lens[ok] - 1], WHITESPACE)
    for i in np.flatnonzero(edge).tolist():
        report.add("edge_whitespace", f"image path {paths[i]!r} has leading/trailing whitespace: upstream looks "
                   "for exactly that file", file=pf.file, line=pf.linenos[i], text=paths[i], severity="error",
                   effect="dropped")


def read_lmdb(source, report):
    """Every leaf directory under ``source.file`` as one ParsedFile (upstream's hierarchical LMDB).

    Keys follow upstream: ``num-samples``, ``label-%09d`` and ``image-%09d``, 1-based;
    the 'line' of a finding is that index.
    """
    import dataclasses

    try:
        import lmdb
    except ImportError as err:
        from ppexp.experiments.labels.settings import UsageError
        raise UsageError("checking LMDBDataSet needs the 'lmdb' package (pip install lmdb)") from err
    out = []
    for dirpath, dirnames, _ in sorted(os.walk(source.file.rstrip("/") + "/")):
        if dirnames:
            continue
        out.append(_read_one_lmdb(lmdb, dataclasses.replace(source, file=dirpath.rstrip("/")), report))
    return out


def _read_one_lmdb(lmdb, source, report):
    from ppexp.experiments.labels.settings import UsageError
    try:
        env = lmdb.open(source.file, max_readers=64, readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as err:
        raise UsageError(f"{source.file}: not an LMDB database ({err})") from err
    pf = ParsedFile(source, lmdb_env=env)
    with env.begin(write=False) as txn:
        num = txn.get(b"num-samples")
        if num is None:
            raise UsageError(f"{source.file}: LMDB has no 'num-samples' key (not a PaddleOCR recognition LMDB)")
        n = int(num)
        pf.n_lines = pf.n_samples = n
        for i in range(1, n + 1):
            raw = txn.get(b"label-%09d" % i)
            if raw is None:
                report.add("lmdb_missing_key", f"key label-{i:09d} is missing (upstream picks another sample)",
                           file=source.file, line=i)
                continue
            try:
                label = raw.decode("utf-8")
            except UnicodeDecodeError:
                report.add("undecodable_bytes", "label is not valid UTF-8", file=source.file, line=i,
                           text=raw[:200].decode("utf-8", "backslashreplace"))
                continue
            if "\n" in label:
                report.add("invisible_char", "label contains a newline character", file=source.file, line=i,
                           text=label)
                continue
            pf.linenos.append(i)
            pf.paths.append(f"image-{i:09d}")
            pf.labels.append(label)
    return pf
