"""Per-label checks: the CTCLabelEncode -> decode round trip and everything that explains a failure.

Vectorised: the labels of a file are joined into one string and viewed as a
UTF-32 code array. Character frequencies (coverage), adjacent repeats (CTC
feasibility), Unicode membership tests and first/last characters are numpy
operations on that array. Encoding is a per-character map and decoding its
per-id inverse, so the round trip of every label holds exactly when it holds
for every distinct character: ``classify`` runs once per distinct character,
and only the lines that contain a flagged character (or are empty, too long,
not NFC, CTC-infeasible or whitespace-edged) get the detailed per-line
diagnosis in ``diagnose``.
"""
import unicodedata
from collections import Counter

import numpy as np

from ppexp.data.imaug.label_ops import check_label

HANGUL_CONJOINING = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))
COMPAT_JAMO = (0x3131, 0x318E)
FULLWIDTH_ALNUM = ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))


def _in(o, ranges):
    return any(a <= o <= b for a, b in ranges)


def unicode_kind(c):
    """The Unicode-problem category of a character, or None."""
    o = ord(c)
    if _in(o, HANGUL_CONJOINING):
        return "unicode_nfd"
    if COMPAT_JAMO[0] <= o <= COMPAT_JAMO[1]:
        return "compat_jamo"
    if _in(o, FULLWIDTH_ALNUM):
        return "fullwidth"
    if c != " " and (unicodedata.category(c) in ("Cc", "Cf", "Zs", "Zl", "Zp")):
        return "invisible_char"
    return None


def describe_char(c):
    """'가' U+AC00 HANGUL SYLLABLE GA (for messages and tables)."""
    name = unicodedata.name(c, "")
    shown = c if c.isprintable() and not c.isspace() else repr(c)[1:-1] if c != " " else "' '"
    return f"{shown} U+{ord(c):04X}" + (f" {name}" if name else "")


def as_codes(text):
    """The code points of ``text`` as a uint32 array (numpy copies the UCS4 form: faster than a codec)."""
    if not text:
        return np.zeros(0, dtype=np.uint32)
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    codes = np.array(text).reshape(1).view(np.uint32)
    return codes if len(codes) == len(text) else np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def line_layout(codes, n):
    """(starts, lens) of the n '\n'-separated lines in ``codes``."""
    seps = np.flatnonzero(codes == 10)
    ends = np.append(seps, len(codes))
    starts = np.concatenate(([0], seps + 1))
    assert len(starts) == n, "a label contains a newline"
    return starts, ends - starts


def repeats(seq):
    """Adjacent equal pairs (each needs a blank between them in a CTC alignment)."""
    return sum(1 for a, b in zip(seq, seq[1:]) if a == b)


class LabelChecker:
    """Checks labels against one CharacterDict / max_text_length; accumulates coverage and lengths."""

    def __init__(self, charset, max_text_length):
        self.charset = charset
        self.max_len = int(max_text_length)
        self._cls = {}
        self.char_counts = Counter()            # raw label characters
        self.length_counts = Counter()          # upstream length -> samples
        self.unknown_lines = {}                 # char -> [(file, line)] (first few)
        self.n_lower_changed = 0

    # ----------------------------------------------------------- per character
    def classify(self, c):
        """(category or None, known) for one distinct character; cached."""
        hit = self._cls.get(c)
        if hit is not None:
            return hit
        cs = self.charset
        ids = cs.encode(c)
        known = cs.decode_ids(ids) == cs.normalize(c)
        kind = unicode_kind(c)
        if kind == "fullwidth" and known:
            half = chr(ord(c) - 0xFEE0)
            kind = kind if half in cs else None     # a deliberate full-width class is fine
        if kind is None and not known:
            kind = "roundtrip_mismatch" if ids else "space_not_in_dict" if c == " " else "unknown_char"
        hit = self._cls[c] = (kind, known)
        return hit

    # ----------------------------------------------------------- per file
    def check_file(self, pf, time_steps, report):
        """Check every label of a ParsedFile; returns the number of diagnosed lines."""
        labels = pf.labels
        n = len(labels)
        if not n:
            return 0
        joined = pf.label_blob()
        codes = as_codes(joined)
        starts, lens = line_layout(codes, n)
        raw_lens = lens.copy()
        if pf.cr:
            raw_lens[np.fromiter(pf.cr, dtype=np.int64)] += 1
        self.length_counts.update(dict(zip(*np.unique(raw_lens, return_counts=True))))
        chars, freq = self._count(codes)
        self.char_counts.update(dict(zip(chars, freq)))
        cand = [np.flatnonzero((lens == 0) | (raw_lens > self.max_len))]
        special = [c for c in chars if self.classify(c)[0]]
        if special:
            cand.append(self._lines_with(codes, starts, [ord(c) for c in special]))
        ws = [ord(c) for c in chars if c.isspace()]
        if ws:
            cand.append(self._edge_lines(codes, starts, lens, ws))
        if not joined.isascii() and not unicodedata.is_normalized("NFC", joined):
            cand.append(np.array([i for i, s in enumerate(labels)
                                  if not s.isascii() and not unicodedata.is_normalized("NFC", s)], dtype=np.int64))
        if self.charset.lower and joined != joined.lower():
            self.n_lower_changed += sum(1 for s in labels if s != s.lower())
        ctc, need = self._ctc_candidates(joined, codes, starts, lens, time_steps)
        if need is None:
            cand.append(ctc)
        todo = np.unique(np.concatenate(cand))
        for i in todo.tolist():
            self._report(pf, i, bool(i in pf.cr), time_steps, report)
        ctc_only = np.setdiff1d(ctc, todo, assume_unique=True) if need is not None else ctc[:0]
        for i, k in zip(ctc_only.tolist(), need[ctc_only].tolist()):
            # a clean line encodes to itself, so the vectorised count is exact
            self._report_ctc(pf, i, int(k), int(lens[i]), time_steps, report)
        return len(todo) + len(ctc_only)

    def _report_ctc(self, pf, i, need, n, T, report):
        if i in pf.cr and n + 1 > self.max_len:
            return
        report.add("ctc_infeasible", self._ctc_message(need, n, T), file=pf.file, line=pf.linenos[i],
                   text=pf.labels[i], time_steps_needed=need)

    @staticmethod
    def _ctc_message(need, n, T):
        return (f"needs {need} CTC time steps ({n} characters + {need - n} adjacent repeats) but the image "
                f"width gives T={T}: zero loss, no gradient")

    @staticmethod
    def _count(codes):
        counts = np.bincount(codes)
        nz = np.flatnonzero(counts)
        nz = nz[nz != 10]                       # the '\n' separators
        return [chr(int(c)) for c in nz], counts[nz].tolist()

    @staticmethod
    def _lines_with(codes, starts, targets):
        pos = np.flatnonzero(np.isin(codes, np.array(targets, dtype=np.uint32)))
        return np.unique(np.searchsorted(starts, pos, side="right") - 1)

    @staticmethod
    def _edge_lines(codes, starts, lens, ws):
        nonempty = np.flatnonzero(lens > 0)
        first = codes[starts[nonempty]]
        last = codes[starts[nonempty] + lens[nonempty] - 1]
        wsa = np.array(ws, dtype=np.uint32)
        return nonempty[np.isin(first, wsa) | np.isin(last, wsa)]

    def _ctc_candidates(self, joined, codes, starts, lens, T):
        """(lines whose length + adjacent repeats exceed T, steps needed per line).

        Exact for labels that encode to themselves; a superset otherwise (dropping
        unknown characters never adds steps), so those lines get diagnose()."""
        if not (2 * lens - 1 > T).any():
            return np.empty(0, dtype=np.int64), lens
        if self.charset.lower:
            low = joined.lower()
            if len(low) != len(joined):
                return np.flatnonzero(2 * lens - 1 > T), None     # inexact: diagnose them all
            codes = as_codes(low)
        csum = np.zeros(len(codes) + 1, dtype=np.int32)
        np.cumsum(codes[1:] == codes[:-1], out=csum[2:])
        # repeats inside line i: pairs (k-1, k) with start < k < start + len
        need = lens + csum[starts + lens] - csum[np.minimum(starts + 1, starts + lens)]
        return np.flatnonzero(need > T), need

    # ----------------------------------------------------------- per line
    def _report(self, pf, i, has_cr, T, report):
        line = pf.linenos[i]
        for cat, sev, msg, extra in self.diagnose(pf.labels[i], has_cr, T):
            report.add(cat, msg, file=pf.file, line=line, text=pf.labels[i], severity=sev, **extra)
            if cat in ("unknown_char", "space_not_in_dict", "unicode_nfd", "compat_jamo", "fullwidth",
                       "invisible_char"):
                for c in set(pf.labels[i]):
                    if not self.classify(c)[1]:
                        seen = self.unknown_lines.setdefault(c, [])
                        if len(seen) < 5 and (pf.file, line) not in seen:
                            seen.append((pf.file, line))

    def _rejection(self, raw, reason, has_cr):
        skipped = "CTCLabelEncode returns None and the sample is silently replaced"
        if not raw:
            return "empty_label", "error", f"empty label: {skipped}", {}
        if len(raw) > self.max_len:
            crlf = " (counting the CRLF '\\r')" if has_cr else ""
            return ("label_too_long", "error", f"{len(raw)} characters{crlf} > max_text_length={self.max_len}: "
                    f"{skipped}", {"length": len(raw)})
        if raw == "\r":
            return "no_known_char", "error", f"label is empty apart from the CRLF '\\r': {skipped}", {}
        return "no_known_char", "error", f"{reason}: {skipped}", {}

    def diagnose(self, label, has_cr, T):
        """[(category, severity, message, extra)] for one label (minus a CRLF '\\r')."""
        cs, out = self.charset, []
        raw = label + "\r" if has_cr else label
        reason = check_label(raw, cs, self.max_len)
        enc = cs.encode(label)
        dec, norm = cs.decode_ids(enc), cs.normalize(label)
        trains = f"upstream trains {dec!r}"
        if reason:
            out.append(self._rejection(raw, reason, has_cr))
        explained = self._char_findings(label, trains, out)
        if not unicodedata.is_normalized("NFC", label) and not any(f[0] == "unicode_nfd" for f in out):
            bad = dec != norm
            explained |= bad
            out.append(("unicode_nfd", "error" if bad else "warning",
                        f"label is not NFC (NFC form {unicodedata.normalize('NFC', label)!r})"
                        + (f"; {trains}" if bad else ""), {}))
        if label.strip() != label:
            explained |= self._edge_finding(label, trains, out)
        if dec != norm and not explained:
            out.append(("roundtrip_mismatch", "error", f"encode -> decode gives {dec!r}, expected {norm!r}", {}))
        if not reason:
            need = len(enc) + repeats(enc)
            if need > T:
                out.append(("ctc_infeasible", "error", self._ctc_message(need, len(enc), T),
                            {"time_steps_needed": need}))
        return out

    def _char_findings(self, label, trains, out):
        """One finding per problem kind among the (non-edge) characters; True if any is dropped by encode."""
        core = label.strip()
        groups = {}
        for c in sorted(set(core), key=core.index):
            kind, known = self.classify(c)
            if kind:
                groups.setdefault(kind, []).append((c, known))
        explained = False
        for kind, items in groups.items():
            unknown = [c for c, k in items if not k]
            explained |= bool(unknown)
            listing = ", ".join(f"{describe_char(c)} x{core.count(c)}" for c, _ in items)
            what = "not in the dictionary" if unknown else "in the dictionary, but a likely mistake"
            if kind == "roundtrip_mismatch":
                what = "encode -> decode changes them"
            elif kind == "unicode_nfd":
                listing = f"decomposed Hangul (NFC: {unicodedata.normalize('NFC', label)!r}): {listing}"
            out.append((kind, "error" if unknown else "warning",
                        f"{listing} ({what}); {trains}" if unknown else f"{listing} ({what})",
                        {"chars": [c for c, _ in items], "codepoints": [f"U+{ord(c):04X}" for c, _ in items]}))
        return explained

    def _edge_finding(self, label, trains, out):
        """Leading/trailing whitespace: an error when encoded as a class; True if dropped by encode."""
        edge = label[: len(label) - len(label.lstrip())] + label[len(label.rstrip()):]
        encoded = [c for c in set(edge) if self.classify(c)[1]]
        out.append(("edge_whitespace", "error" if encoded else "warning",
                    f"label has leading/trailing whitespace {edge!r}: "
                    + (f"it is encoded as a class, {trains}" if encoded
                       else "dropped by encode but counted by max_text_length"),
                    {"effect": "altered"} if encoded else {}))
        return not encoded
