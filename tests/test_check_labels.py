"""`ppexp check-labels`: every planted defect is found at its line, exit codes, JSON schema, --fix."""
import json
import os
import random
import unicodedata

import cv2
import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ppexp.cli import main
from ppexp.experiments.labels import CATEGORIES, CheckSettings, LabelSource, run_check
from ppexp.experiments.labels.findings import Report
from ppexp.experiments.labels.label_checks import LabelChecker
from ppexp.experiments.labels.reader import ParsedFile
from ppexp.experiments.labels.report import to_json, to_text
from ppexp.utils.character import CharacterDict

HANGUL = "가나다라마거너더러머고노도로모구누두루무바사아자허하호배"
DICT_CHARS = list("0123456789") + list(HANGUL)


# ---------------------------------------------------------------- helpers
def cli(*argv):
    """`ppexp check-labels ARGV` through the CLI (which turns user errors into exit codes)."""
    return main(["check-labels", *argv])


def write_dict(path, entries=DICT_CHARS):
    path.write_text("\n".join(entries) + "\n", encoding="utf-8")
    return str(path)


def plate(rng):
    return f"{rng.randint(10, 999)}{rng.choice(HANGUL)}{rng.randint(1000, 9999)}"


def png(path, h=32, w=100, seed=0):
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def settings_for(files, dict_path, data_dir="", images=False, eval_files=(), **kw):
    sources = [LabelSource("Train", str(f), str(data_dir)) for f in files]
    sources += [LabelSource("Eval", str(f), str(data_dir)) for f in eval_files]
    return CheckSettings(sources=sources, dict_path=dict_path, images=images, progress=False, max_examples=0, **kw)


def found(result):
    """{(category, basename(file), line)} of every line-level finding."""
    return {(f["category"], os.path.basename(f["file"]), f.get("line")) for f in to_json(result)["findings"]}


# ---------------------------------------------------------------- a planted data set
@pytest.fixture()
def planted(tmp_path):
    """Label files, images and a dictionary with every defect at a known line."""
    rng = random.Random(1)
    img = tmp_path / "img"
    img.mkdir()
    for i in range(40):
        png(img / f"{i}.png", seed=i)
    (img / "empty.png").write_bytes(b"")
    (img / "garbage.png").write_bytes(b"this is not an image" * 10)
    png(img / "thin.png", h=1, w=100, seed=100)
    png(img / "wide.png", h=32, w=500, seed=101)
    (img / "copy.png").write_bytes((img / "0.png").read_bytes())
    (img / "copy2.png").write_bytes((img / "6.png").read_bytes())
    dict_path = write_dict(tmp_path / "dict.txt", DICT_CHARS + ["", "가", " 나", "ab", "\u212b", "힣"])
    # dictionary (38 entries): line 39 empty, 40 '가' duplicate of line 11, 41 ' 나', 42 'ab',
    # 43 Angstrom sign (not NFC), 44 '힣' (never used)
    lines, expect = [], []

    def add(text, *cats):
        lines.append(text)
        expect.extend((c, len(lines)) for c in cats)

    add("\ufeffimg/0.png\t" + plate(rng), "bom")
    for i in range(2, 8):
        add(f"img/{i}.png\t{plate(rng)}")
    add("img/missing.png\t12가3456", "image_missing")                       # 8
    add("img/8.png 12가3457", "missing_delimiter")                           # 9
    add(f"img/9.png\t{unicodedata.normalize('NFD', '12가3458')}", "unicode_nfd")
    add("img/10.png\t12ㄱ3459", "compat_jamo")
    add("img/11.png\t１２가3460", "fullwidth")
    add("img/12.png\t12가\u200b3461", "invisible_char")
    add("img/13.png\t12가\u00a03462", "invisible_char")
    add("img/14.png\t12가 3463", "space_not_in_dict")                       # 15
    add("img/15.png\t", "empty_label")
    add("img/16.png\t" + "1234567890" * 3, "label_too_long")
    add("img/17.png\t" + "11" * 10, "ctc_infeasible")                        # 18
    add("img/18.png\tXYZ", "no_known_char")
    add("img/19.png\t12X3467", "unknown_char")                               # 20
    add("", )                                                                # 21 blank
    expect.append(("blank_line", 21))
    add("img/20.png\t12가3468\textra", "extra_columns")                      # 22
    add("img/21.png\t12가3469 ", "edge_whitespace")                          # 23
    add(" img/22.png\t12가3470", "edge_whitespace", "image_missing")         # 24
    add("img/empty.png\t12가3471", "image_zero_size")
    add("img/garbage.png\t12가3472", "image_unreadable")
    add("img/thin.png\t12가3473", "image_1px_high")
    add("img/wide.png\t12가3474", "image_aspect")                             # 28
    add("img/2.png\t" + lines[1].split("\t")[1], "duplicate_line")           # 29 (= line 2)
    add("img/3.png\t99가9999", "conflicting_labels")                          # 30 (line 3 has another label)
    expect.append(("conflicting_labels", 3))
    add("img/copy.png\t" + lines[0].split("\t")[1], "duplicate_image_content")  # 31: same bytes as img/0.png
    add("img/23.png\t55나5555\r", "crlf")                                     # 32
    body = "\n".join(lines).encode("utf-8") + b"\n"
    body += "img/24.png\t12가3475\n".replace("가", "\x00").encode().replace(b"\x00", "가".encode("cp949"))  # 33
    expect.append(("undecodable_bytes", 33))
    train = tmp_path / "train.txt"
    train.write_bytes(body)
    evalf = tmp_path / "val.txt"
    evalf.write_text(f"img/30.png\t{plate(rng)}\nimg/4.png\t{lines[3].split(chr(9))[1]}\n"
                     f"img/copy2.png\t{plate(rng)}\n", encoding="utf-8")
    expect_eval = [("train_eval_leak", 2), ("train_eval_leak", 3)]
    return dict(dir=tmp_path, train=train, eval=evalf, dict=dict_path, expect=expect, expect_eval=expect_eval)


def test_every_planted_defect_is_reported_at_its_line(planted):
    s = settings_for([planted["train"]], planted["dict"], planted["dir"], images=True, eval_files=[planted["eval"]])
    result = run_check(s)
    got = found(result)
    for cat, line in planted["expect"]:
        assert (cat, "train.txt", line) in got, (cat, line)
    for cat, line in planted["expect_eval"]:
        assert (cat, "val.txt", line) in got, (cat, line)
    # clean lines stay clean
    flagged = {ln for c, f, ln in got if f == "train.txt" and CATEGORIES[c].scope != "dict"}
    assert not flagged & {4, 5, 7}
    assert result.exit_code == 1


def test_dictionary_findings(planted):
    result = run_check(settings_for([planted["train"]], planted["dict"], images=False))
    dict_found = {(f["category"], f.get("dict_line")) for f in to_json(result)["findings"]
                  if CATEGORIES[f["category"]].scope == "dict"}
    assert ("dict_empty_entry", 39) in dict_found
    assert ("dict_duplicate", 11) in dict_found           # '가' at 11 and 40: upstream maps to 40
    assert ("dict_whitespace_entry", 41) in dict_found
    assert ("dict_multichar_entry", 42) in dict_found
    assert ("dict_not_nfc", 43) in dict_found
    assert ("dict_unused_entry", 44) in dict_found
    missing = {f["text"]: f for f in to_json(result)["findings"] if f["category"] == "dict_missing_char"}
    assert missing["X"]["codepoint"] == "U+0058" and missing["X"]["count"] == 2
    assert "train.txt:19" in " ".join(missing["X"]["lines"])
    assert any(row["char"] == "ㄱ" and row["codepoint"] == "U+3131" for row in to_json(result)["unknown_chars"])


def test_dict_space_entry_with_use_space_char(tmp_path):
    d = write_dict(tmp_path / "d.txt", DICT_CHARS + [" "])
    (tmp_path / "t.txt").write_text("a.png\t12가 3456\n", encoding="utf-8")
    result = run_check(settings_for([tmp_path / "t.txt"], d, use_space_char=True))
    assert ("dict_double_space", None) in {(f["category"], None) for f in to_json(result)["findings"]}
    assert result.exit_code == 0      # the space label itself is fine with use_space_char


def test_severity_depends_on_the_dictionary(tmp_path):
    """Full-width digits are errors when the dictionary lacks them, nothing when it holds them only."""
    (tmp_path / "t.txt").write_text("a.png\t１２가\n", encoding="utf-8")
    r1 = run_check(settings_for([tmp_path / "t.txt"], write_dict(tmp_path / "d1.txt")))
    assert r1.report.category_severity["fullwidth"]["error"] == 1
    r2 = run_check(settings_for([tmp_path / "t.txt"], write_dict(tmp_path / "d2.txt", ["１", "２", "가"])))
    assert r2.report.counts.get("fullwidth", 0) == 0 and r2.exit_code == 0


def test_text_report_has_summary_coverage_and_histogram(planted):
    result = run_check(settings_for([planted["train"]], planted["dict"], planted["dir"], images=True))
    text = to_text(result)
    n = result.report.totals["samples"]
    assert f"of {n:,} samples would be silently dropped or altered by PaddleOCR's pipeline" in text
    assert "Character coverage:" in text and "never used:" in text
    assert "max_text_length=25: longer labels are dropped" in text
    assert "U+3131" in text


# ---------------------------------------------------------------- exit codes, JSON, usage
def test_exit_codes(tmp_path, planted):
    rng = random.Random(0)
    d = write_dict(tmp_path / "d.txt")
    clean = tmp_path / "clean.txt"
    clean.write_text("".join(f"x{i}.png\t{plate(rng)}\n" for i in range(50)), encoding="utf-8")
    assert cli("--label-file", str(clean), "--dict", d, "--no-images", "-q") == 0
    warn = tmp_path / "warn.txt"
    warn.write_text(clean.read_text(encoding="utf-8") + "\n", encoding="utf-8")     # a blank line
    assert cli("--label-file", str(warn), "--dict", d, "--no-images", "-q") == 0
    assert cli("--label-file", str(warn), "--dict", d, "--no-images", "-q", "--strict") == 1
    assert cli("--label-file", str(planted["train"]), "--dict", planted["dict"], "--no-images", "-q") == 1
    assert cli("--label-file", str(tmp_path / "nope.txt"), "--dict", d, "--no-images") == 2
    assert cli("--label-file", str(clean), "--dict", str(tmp_path / "nope.txt"), "--no-images") == 2
    assert cli("--label-file", str(clean), "--image-shape", "3,32", "--no-images") == 2
    assert cli("--label-file", str(clean), "--data-dir", str(tmp_path / "nodir")) == 2
    assert cli("-o", "Global.max_text_length=3", "--label-file", str(clean)) == 2
    assert cli("--no-images") == 2
    with pytest.raises(SystemExit) as err:
        cli("--max-text-length", "abc")
    assert err.value.code == 2


def test_json_schema(planted, tmp_path):
    out = tmp_path / "r.json"
    code = cli("--label-file", str(planted["train"]), "--eval-label-file", str(planted["eval"]), "--dict",
               planted["dict"], "--data-dir", str(planted["dir"]), "--json", str(out), "--max-examples", "0",
               "--no-progress", "-q")
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert code == rep["exit_code"] == 1
    for key in ("schema_version", "settings", "totals", "counts", "findings", "unknown_chars", "coverage",
                "length_histogram", "verdict", "categories"):
        assert key in rep
    tot = rep["totals"]
    for key in ("samples", "lines", "errors", "warnings", "affected_samples", "images_checked"):
        assert isinstance(tot[key], int)
    assert tot["errors"] + tot["warnings"] == sum(rep["counts"].values()) == len(rep["findings"])
    for f in rep["findings"]:
        assert f["category"] in CATEGORIES and f["severity"] in ("error", "warning")
        assert isinstance(f["message"], str) and f["message"] and "file" in f and "text" in f
        if CATEGORIES[f["category"]].scope == "dict":
            assert "dict_line" in f and "line" not in f
        else:
            assert isinstance(f["line"], int) and f["line"] >= 1 and "dict_line" not in f
    assert rep["verdict"].startswith(f"{tot['affected_samples']:,} of {tot['samples']:,} samples")
    assert rep["settings"]["sources"][0]["time_steps"] == 25


def test_max_examples_caps_findings_not_counts(planted, tmp_path):
    out = tmp_path / "r.json"
    cli("--label-file", str(planted["train"]), "--dict", planted["dict"], "--no-images", "--json", str(out),
        "--max-examples", "1", "-q")
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["counts"]["invisible_char"] == 2
    assert sum(f["category"] == "invisible_char" for f in rep["findings"]) == 1


# ---------------------------------------------------------------- --fix
def test_fix_output_passes_a_second_run(planted, tmp_path, capsys):
    fixed = tmp_path / "fixed.txt"
    code = cli("--label-file", str(planted["train"]), "--dict", planted["dict"], "--data-dir", str(planted["dir"]),
               "--fix", str(fixed), "--no-progress", "-q")
    assert code == 1
    assert "dropped" in capsys.readouterr().out
    text = fixed.read_text(encoding="utf-8")
    assert "\r" not in text and "\ufeff" not in text
    kept = dict(line.split("\t") for line in text.splitlines())
    assert kept["img/8.png"] == "12가3457"                    # space delimiter repaired
    assert kept["img/9.png"] == "12가3458"                    # NFD -> NFC
    assert kept["img/11.png"] == "12가3460"                   # full-width digits -> ASCII
    assert kept["img/12.png"] == "12가3461"                   # zero-width space removed
    assert kept["img/21.png"] == "12가3469" and "img/22.png" in kept   # fields stripped
    assert kept["img/23.png"] == "55나5555"                   # CRLF
    assert kept["img/24.png"] == "12가3475"                   # cp949 line re-decoded
    for gone in ("img/missing.png", "img/10.png", "img/15.png", "img/16.png", "img/17.png", "img/18.png",
                 "img/19.png", "img/20.png", "img/empty.png", "img/garbage.png", "img/thin.png", "img/3.png"):
        assert gone not in kept, gone
    dropped = (tmp_path / "fixed.txt.dropped.tsv").read_text(encoding="utf-8")
    for line in (8, 11, 16, 17, 18, 19, 20, 21, 22, 25, 26, 27, 29, 30):
        assert f"train.txt\t{line}\t" in dropped, line
    assert cli("--label-file", str(fixed), "--dict", planted["dict"], "--data-dir", str(planted["dir"]),
               "--no-progress", "-q") == 0
    again = run_check(settings_for([fixed], planted["dict"], planted["dir"], images=True))
    assert again.report.n_errors == 0
    line_warnings = {c for c, n in again.report.counts.items() if CATEGORIES[c].scope == "line"}
    assert not line_warnings


def test_fix_train_and_eval_removes_leakage(planted, tmp_path):
    out = tmp_path / "fixed"
    cli("--label-file", str(planted["train"]), "--eval-label-file", str(planted["eval"]), "--dict", planted["dict"],
        "--data-dir", str(planted["dir"]), "--fix", str(out), "--no-progress", "-q")
    assert sorted(os.listdir(out)) == ["dropped.tsv", "train.txt", "val.txt"]
    assert cli("--label-file", str(out / "train.txt"), "--eval-label-file", str(out / "val.txt"), "--dict",
               planted["dict"], "--data-dir", str(planted["dir"]), "--no-progress", "-q") == 0


# ---------------------------------------------------------------- clean Korean set, config mode, LMDB
def test_clean_10k_korean_plates_pass(tmp_path):
    rng = random.Random(7)
    d = write_dict(tmp_path / "kr.txt")
    f = tmp_path / "train.txt"
    f.write_text("".join(f"plates/{i:05d}.jpg\t{plate(rng)}\n" for i in range(10_000)), encoding="utf-8")
    result = run_check(settings_for([f], d))
    assert result.report.n_errors == 0 and result.exit_code == 0
    assert result.report.totals["samples"] == 10_000
    assert "0 of 10,000 samples" in to_text(result)
    assert cli("--label-file", str(f), "--dict", d, "--no-images", "-q") == 0


def test_config_mode(tmp_path):
    rng = random.Random(3)
    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    train, val = [], []
    for i in range(13):
        png(data / "img" / f"{i}.png", h=32, w=320, seed=i)
        if i < 12:
            (train if i < 9 else val).append(f"img/{i}.png\t{plate(rng)}")
    train.append("img/12.png\t" + "1" * 22)           # 22 + 21 repeats = 43 steps: fine at T=80, not at 25
    val.append(train[1])                              # leak
    (tmp_path / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (tmp_path / "val.txt").write_text("\n".join(val) + "\n", encoding="utf-8")
    d = write_dict(tmp_path / "kr.txt")
    cfg = tmp_path / "cfg.yml"
    ds = ("dataset:\n    name: SimpleDataSet\n    data_dir: {data}\n    label_file_list: [{f}]\n"
          "    transforms:\n      - DecodeImage: {{img_mode: BGR}}\n      - CTCLabelEncode: {{}}\n"
          "      - RecResizeImg: {{image_shape: [3, 32, 320]}}\n")
    cfg.write_text(
        f"Global:\n  character_dict_path: {d}\n  max_text_length: 25\n  use_space_char: false\n"
        "Architecture:\n  model_type: rec\n  algorithm: CRNN\n  Backbone: {name: MobileNetV3}\n"
        "Train:\n  " + ds.format(data=data, f=tmp_path / "train.txt")
        + "Eval:\n  " + ds.format(data=data, f=tmp_path / "val.txt"), encoding="utf-8")
    out = tmp_path / "r.json"
    assert cli("-c", str(cfg), "--json", str(out), "--no-progress", "-q") == 1
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert [s["time_steps"] for s in rep["settings"]["sources"]] == [80, 80]
    assert [s["split"] for s in rep["settings"]["sources"]] == ["Train", "Eval"]
    assert set(rep["counts"]) - {"dict_unused_entry"} == {"train_eval_leak"}
    leak = [f for f in rep["findings"] if f["category"] == "train_eval_leak"]
    assert leak[0]["file"].endswith("val.txt") and leak[0]["line"] == 4
    # -o overrides reach the check: at width 100 the long label is CTC-infeasible
    cli("-c", str(cfg), "-o", "Train.dataset.transforms.2.RecResizeImg.image_shape=[3,32,100]", "--json", str(out),
        "--no-images", "-q")
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert any(f["category"] == "ctc_infeasible" and f["line"] == 10 for f in rep["findings"])


def test_lmdb_dataset(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    root = tmp_path / "lmdb" / "part1"
    root.mkdir(parents=True)
    ok, buf = cv2.imencode(".png", np.full((32, 100, 3), 200, np.uint8))
    env = lmdb.open(str(root), map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", b"3")
        txn.put(b"label-000000001", "12가3456".encode())
        txn.put(b"image-000000001", buf.tobytes())
        txn.put(b"image-000000002", buf.tobytes())
        txn.put(b"label-000000003", "12X3456".encode())
        txn.put(b"image-000000003", b"junk")
    env.close()
    d = write_dict(tmp_path / "kr.txt")
    cfg = tmp_path / "cfg.yml"
    cfg.write_text(f"Global:\n  character_dict_path: {d}\n"
                   f"Train:\n  dataset:\n    name: LMDBDataSet\n    data_dir: {tmp_path / 'lmdb'}\n", encoding="utf-8")
    out = tmp_path / "r.json"
    assert cli("-c", str(cfg), "--json", str(out), "--no-progress", "-q") == 1
    got = {(f["category"], f.get("line")) for f in json.loads(out.read_text(encoding="utf-8"))["findings"]}
    assert {("lmdb_missing_key", 2), ("unknown_char", 3), ("image_unreadable", 3)} <= got


def test_space_delimited_file_with_delimiter_option(tmp_path):
    d = write_dict(tmp_path / "d.txt")
    f = tmp_path / "t.txt"
    f.write_text("a.png 12가3456\nb.png 34나5678\n", encoding="utf-8")
    assert cli("--label-file", str(f), "--dict", d, "--no-images", "-q") == 1
    assert cli("--label-file", str(f), "--dict", d, "--no-images", "--delimiter", "SPACE", "-q") == 0


def test_without_dictionary_lowercasing_is_not_an_error(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("a.png\tHello42\nb.png\tworld\n", encoding="utf-8")
    result = run_check(settings_for([f], None))
    assert result.report.n_errors == 0
    assert any("lower-cases" in n for n in result.report.notes)


# ---------------------------------------------------------------- the vectorised path equals the naive one
ALPHABET = list("0123가나 ㄱ１\u200bX\u1100\u1161a") + ["\u00a0"]


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET, max_size=16), min_size=1, max_size=40), st.integers(3, 12))
def test_vectorised_checks_match_per_line_diagnosis(labels, T):
    cs = CharacterDict(characters=list("0123가나a"))
    checker = LabelChecker(cs, max_text_length=10)
    pf = ParsedFile(LabelSource("Train", "f.txt"), linenos=list(range(1, len(labels) + 1)),
                    paths=[f"{i}.png" for i in range(len(labels))], labels=labels)
    report = Report(max_examples=0)
    checker.check_file(pf, T, report)
    got = sorted((f["category"], f["line"]) for f in report.findings())
    want = sorted((cat, i + 1) for i, s in enumerate(labels) for cat, *_ in checker.diagnose(s, False, T))
    assert got == want


def test_roundtrip_mismatch_is_reported_when_decode_disagrees():
    class Broken(CharacterDict):
        def decode_ids(self, ids):
            return super().decode_ids(ids).replace("가", "나")

    checker = LabelChecker(Broken(characters=list("0123가나")), 25)
    cats = [c for c, *_ in checker.diagnose("12가", False, 25)]
    assert cats == ["roundtrip_mismatch"]


def test_ctc_feasibility_boundary():
    checker = LabelChecker(CharacterDict(characters=list("0123456789")), 30)
    assert not [c for c, *_ in checker.diagnose("1" * 13, False, 25)]          # 13 + 12 = 25
    assert [c for c, *_ in checker.diagnose("1" * 14, False, 25)] == ["ctc_infeasible"]
    assert not [c for c, *_ in checker.diagnose("0123456789" * 2 + "01234", False, 25)]


# ---------------------------------------------------------------- smaller cases
def test_crlf_counts_toward_max_text_length(tmp_path):
    """Upstream strips only '\\n': a 25-character label plus '\\r' is 26 long and dropped."""
    f = tmp_path / "t.txt"
    f.write_bytes(b"a.png\t" + b"1234567890" * 2 + b"12345\r\nb.png\t12\r\n")
    result = run_check(settings_for([f], write_dict(tmp_path / "d.txt")))
    got = found(result)
    assert ("label_too_long", "t.txt", 1) in got and ("crlf", "t.txt", 1) in got and ("crlf", "t.txt", 2) in got
    assert ("label_too_long", "t.txt", 2) not in got
    assert result.report.category_severity["crlf"] == {"warning": 2}


def test_line_format_defects(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("\t12가3456\na.png\t12가3456\t\n   \nb.png\t34나5678\n", encoding="utf-8")
    result = run_check(settings_for([f], write_dict(tmp_path / "d.txt")))
    got = found(result)
    assert ("empty_path", "t.txt", 1) in got
    assert ("extra_columns", "t.txt", 2) in got and result.report.category_severity["extra_columns"] == {"warning": 1}
    assert ("blank_line", "t.txt", 3) in got
    assert result.report.totals["samples"] == 3


def test_utf16_label_file(tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes("a.png\t12가3456\nb.png\t12가3457\n".encode("utf-16"))
    result = run_check(settings_for([f], write_dict(tmp_path / "d.txt")))
    assert result.report.counts["undecodable_bytes"] >= 2 and result.exit_code == 1


def test_leak_detected_across_path_spellings(tmp_path):
    d = write_dict(tmp_path / "d.txt")
    (tmp_path / "tr.txt").write_text("./img/1.png\t12가3456\nimg/2.png\t12가3457\n", encoding="utf-8")
    (tmp_path / "ev.txt").write_text("img//1.png\t12가3456\n", encoding="utf-8")
    result = run_check(settings_for([tmp_path / "tr.txt"], d, "data", eval_files=[tmp_path / "ev.txt"]))
    assert ("train_eval_leak", "ev.txt", 1) in found(result)


def test_dictionary_with_bom(tmp_path):
    d = tmp_path / "d.txt"
    d.write_bytes("\ufeff".encode() + "\n".join(DICT_CHARS).encode() + b"\n")
    (tmp_path / "t.txt").write_text("a.png\t012가\n", encoding="utf-8")
    result = run_check(settings_for([tmp_path / "t.txt"], str(d)))
    rep = to_json(result)
    assert any(f["category"] == "dict_multichar_entry" and f["dict_line"] == 1 and "BOM" in f["message"]
               for f in rep["findings"])
    assert ("unknown_char", "t.txt", 1) in found(result)      # '0' is missing: the BOM ate it


def test_omitted_findings_and_quiet_output(planted, tmp_path, capsys):
    out = tmp_path / "r.json"
    cli("--label-file", str(planted["train"]), "--dict", planted["dict"], "--no-images", "--json", str(out),
        "--max-examples", "1", "-q")
    assert "samples would be silently dropped or altered" in capsys.readouterr().out
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["omitted_findings"]["invisible_char"] == 1


def test_command_is_registered():
    from ppexp import cli as ppexp_cli

    assert "ppexp.commands.check_labels" in ppexp_cli.COMMANDS


@pytest.mark.parametrize("backbone, stride, note", [
    ("{name: MobileNetV3}", 4, False),
    ("{name: MobileNetV3, model_name: large, large_stride: [2, 2, 2, 2]}", 8, False),
    ("{name: ResNet, layers: 34}", 4, False),
    ("{name: MobileNetV1Enhance, scale: 0.5}", 8, False),     # upstream's, not built by ppexp
    ("{name: NoSuchNet}", 4, True),
])
def test_stride_comes_from_the_backbone(tmp_path, backbone, stride, note):
    from ppexp.experiments.labels.settings import settings_from_config

    (tmp_path / "t.txt").write_text("a.png\t12가3456\n", encoding="utf-8")
    cfg = tmp_path / "cfg.yml"
    cfg.write_text(f"Global:\n  character_dict_path: {write_dict(tmp_path / 'd.txt')}\n"
                   f"Architecture:\n  model_type: rec\n  Backbone: {backbone}\n"
                   f"Train:\n  dataset:\n    name: SimpleDataSet\n    label_file_list: [{tmp_path / 't.txt'}]\n",
                   encoding="utf-8")
    s = settings_from_config(str(cfg))
    assert s.stride == stride
    assert any("has no known width stride; assuming 4" in n for n in s.notes) == note
    assert settings_from_config(str(cfg), stride=2).stride == 2
