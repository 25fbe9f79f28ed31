"""ppexp eval --errors: per-group accuracy, errors with files, character confusions."""
import pytest

from ppexp.experiments.analysis.rec_errors import (
    OTHER, char_confusions, error_report, format_error_report, label_group, read_group_file,
)


def test_label_groups_follow_the_plate_patterns():
    assert label_group("서울33거2172").startswith("region + 2 digits")
    assert label_group("12가3456").startswith("2 digits")
    assert label_group("123가4568").startswith("3 digits")
    assert label_group("외교123456") == "diplomatic"
    assert label_group("hello") == OTHER
    assert label_group("서울3거2172") == OTHER


def test_confusions_count_substitutions_misses_and_extras():
    conf = char_confusions([("12가3456", "12나3456"), ("12가3456", "12가345"), ("12가3456", "12가34567"),
                            ("서울12가3456", "셔울12나3456")])
    assert conf[("가", "나")] == 2
    assert conf[("서", "셔")] == 1
    assert conf[("6", "")] == 1
    assert conf[("", "7")] == 1
    assert sum(conf.values()) == 5


def test_error_report_groups_errors_and_layout_groups():
    records = [("a.jpg", "12가3456", "12가3456"), ("b.jpg", "12가3456", "12나3456"),
               ("c.jpg", "서울33거2172", "33거2172"), ("d.jpg", "123가4568", "123가4568")]
    rep = error_report(records, groups={"c.jpg": "two-line", "a.jpg": "one-line", "b.jpg": "one-line"})
    assert rep["overall"]["n"] == 4 and rep["overall"]["correct"] == 2
    g = rep["groups"]
    assert g["pattern: 2 digits, no region"]["correct"] == 1 and g["pattern: 2 digits, no region"]["n"] == 2
    assert g["layout: two-line"] == {"n": 1, "correct": 0, "acc": 0.0, "norm_edit_dis": pytest.approx(7 / 9)}
    assert g["layout: one-line"]["acc"] == 0.5
    assert [e["file"] for e in rep["errors"]] == ["b.jpg", "c.jpg"]
    assert sorted(map(tuple, rep["confusions"])) == [("가", "나", 1), ("서", "", 1), ("울", "", 1)]
    text = "\n".join(format_error_report(rep))
    assert "b.jpg  label 12가3456  pred 12나3456" in text and "가->나: 1" in text


def test_group_file_errors_name_the_line(tmp_path):
    good = tmp_path / "g.tsv"
    good.write_text("# comment\nimages/a.jpg\ttwo-line\n\nimages/b.jpg\tone-line\n", encoding="utf-8")
    assert read_group_file(str(good)) == {"images/a.jpg": "two-line", "images/b.jpg": "one-line"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("images/a.jpg two-line\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv:1: expected 'image<TAB>group'"):
        read_group_file(str(bad))
