"""The one label-line reader (ppexp/data/label_lines.py): the datasets and check-labels read the same samples."""
from ppexp.data.label_lines import decode_label_bytes, parse_label_bytes, split_lines
from ppexp.experiments.labels import LabelSource
from ppexp.experiments.labels.findings import Report
from ppexp.experiments.labels.reader import read_label_file

MIXED = (b"\xef\xbb\xbfa.png\tx\r\n"         # 1 BOM + CRLF
         b"\n"                               # 2 blank
         b" \t \xe3\x80\x80\n"               # 3 blank: whitespace only (U+3000 too)
         b"no delimiter here\n"              # 4 malformed
         b'["c.png", "d.png"]\ty\n'          # 5 JSON list image field: its first path
         b"\xff\xfe.png\tz\r\n"              # 6 not UTF-8, CRLF
         b"q.png\tw\tv\n"                    # 7 three fields: label is field 1
         b"\tempty path\n")                  # 8 empty image path


def test_decode_notes_bom_crlf_and_keeps_undecodable_bytes():
    d = decode_label_bytes(MIXED)
    assert d.bom and d.crlf == [1, 6] and list(d.undecodable) == [6]
    assert d.lines[0] == "a.png\tx" and d.lines[5] is None and len(d.lines) == 8
    assert d.undecodable[6] == b"\xff\xfe.png\tz\r" and d.replaced(6) == "\ufffd\ufffd.png\tz"


def test_split_rules():
    s = split_lines(decode_label_bytes(MIXED).lines, "\t")
    assert s.blank == [2, 3] and s.malformed == [4]
    assert list(s.linenos) == [1, 5, 7, 8]          # line 6 (None) is left to the caller
    assert s.paths == ["a.png", "c.png", "q.png", ""] and s.labels == ["x", "y", "w", "empty path"]
    assert s.extra == {2: ["q.png", "w", "v"]}


def test_fast_path_gives_what_the_line_by_line_path_gives():
    lines = [f"img/{i}.png\tlabel {i}" for i in range(50)]
    fast = split_lines(lines, "\t")
    slow = split_lines(lines + [""], "\t")          # a blank line forces the line-by-line path
    assert (list(fast.linenos), fast.paths, fast.labels) == (list(slow.linenos), slow.paths, slow.labels)
    assert slow.blank == [51] and not fast.blank
    assert split_lines(['["a.png", "b.png"]\tx', "c.png\ty"], "\t").paths == ["a.png", "c.png"]


def test_whole_rest_keeps_the_delimiter_inside_a_det_label():
    s = split_lines(['a.png\t[{"transcription": "x\ty"}]'], "\t", whole_rest=True)
    assert s.labels == ['[{"transcription": "x\ty"}]'] and not s.extra


def test_datasets_and_check_labels_read_the_same_samples(tmp_path):
    parsed = parse_label_bytes(MIXED, "\t")
    report = Report()
    pf = read_label_file(LabelSource("Train", str(tmp_path / "t.txt")), report, raw=MIXED)
    decodable = [(ln.lineno, ln.image, ln.label) for ln in parsed.samples if ln.lineno not in parsed.not_utf8]
    assert decodable == list(zip(pf.linenos, pf.paths, pf.labels))
    assert parsed.malformed == [4] and parsed.crlf == 2 and parsed.bom and parsed.not_utf8 == [6]
    assert pf.cr == {0} and pf.n_lines == 8 and pf.n_samples == 6
    assert {c: report.counts[c] for c in ("bom", "crlf", "blank_line", "missing_delimiter", "undecodable_bytes",
                                          "extra_columns", "empty_path")} == {
        "bom": 1, "crlf": 1, "blank_line": 2, "missing_delimiter": 1, "undecodable_bytes": 1,
        "extra_columns": 1, "empty_path": 1}
