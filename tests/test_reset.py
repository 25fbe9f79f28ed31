"""`ppexp reset`: a realistic dirty experiment is reset safely, idempotently and restorably."""
import hashlib
import json
import os
import pickle
import unicodedata

import cv2
import numpy as np
import pytest
import yaml

from ppexp.cli import main
from ppexp.config import dump_config, get_config
from ppexp.experiments.reset import ResetOptions, build_plan, execute_plan, restore_archive
from ppexp.experiments.reset.canonical import canonicalize
from ppexp.experiments.reset.outputs import write_cache_marker
from ppexp.utils.character import CharacterDict

PLATES = ["12가3456", "34나5678", "56다7890", "78라1234", "90마5678", "11거2222", "22너3333", "33더4444"]


# ---------------------------------------------------------------- the dirty experiment
def _image(path, seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (32, 100, 3), dtype=np.uint8)
    cv2.putText(img, str(seed), (5, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    cv2.imwrite(path, img)


def _checkpoint(base, epoch, step):
    with open(base + ".pdparams", "wb") as f:
        pickle.dump({"w": np.full((4, 4), epoch, np.float32)}, f, protocol=4)
    with open(base + ".pdopt", "wb") as f:
        pickle.dump({"lr": np.float32(0.001 * epoch)}, f, protocol=4)
    with open(base + ".states", "wb") as f:
        pickle.dump({"epoch": epoch, "global_step": step, "best_model_dict": {"acc": 0.0}}, f, protocol=2)


def _vdl_twice(logdir):
    from visualdl import LogWriter

    for run in range(2):   # two training runs into the same folder: VisualDL shows only the newest file
        with LogWriter(logdir=logdir, file_name=f"vdlrecords.{1700000000 + run}.log") as w:
            for step in range(3):
                w.add_scalar(tag="TRAIN/loss", value=float(10 - step - run), step=step)


CONFIG_TEXT = """\
# exp8: plates, resumed after a crash  (a comment that must survive)
Global:
  use_gpu: False
  epoch_num: 2
  print_batch_step: 5
  save_model_dir: {save}
  save_epoch_step: 1
  eval_batch_step: [0, 2000]
  cal_metric_during_train: True
  pretrained_model:
  checkpoints: {save}/latest   # resume
  save_inference_dir: {save}/inference
  use_visualdl: True
  character_dict_path: {root}/dict.txt
  max_text_length: 25
  use_space_char: False
Architecture:
  model_type: rec
  algorithm: CRNN
  Backbone: {{name: MobileNetV3, scale: 0.35, model_name: small}}
  Neck: {{name: SequenceEncoder, encoder_type: rnn, hidden_size: 48}}
  Head: {{name: CTCHead}}
Loss: {{name: CTCLoss}}
Optimizer:
  name: Adam
  lr: {{name: Cosine, learning_rate: 0.001}}
PostProcess: {{name: CTCLabelDecode}}
Metric: {{name: RecMetric, main_indicator: acc}}
Train:
  dataset:
    name: SimpleDataSet
    data_dir: {data}
    label_file_list: [{data}/train.txt]
    transforms:
      - DecodeImage: {{img_mode: BGR, channel_first: False}}
      - CTCLabelEncode:
      - RecResizeImg: {{image_shape: [3, 32, 100]}}
      - KeepKeys: {{keep_keys: [image, label, length]}}
  loader: {{shuffle: True, batch_size_per_card: 8, drop_last: True, num_workers: 0}}
Eval:
  dataset:
    name: SimpleDataSet
    data_dir: {data}
    label_file_list: [{data}/val.txt]
    transforms:
      - DecodeImage: {{img_mode: BGR, channel_first: False}}
      - CTCLabelEncode:
      - RecResizeImg: {{image_shape: [3, 32, 100]}}
      - KeepKeys: {{keep_keys: [image, label, length]}}
  loader: {{shuffle: False, batch_size_per_card: 8, drop_last: False, num_workers: 0}}
"""


def _write_dataset(root, data, n_train, n_val):
    """Images (cv2), a dirty train.txt (BOM, CRLF, NFD Hangul, space delimiter) and a clean val.txt."""
    os.makedirs(os.path.join(data, "images"))
    os.makedirs(os.path.join(data, "eval_images"))
    with open(os.path.join(root, "dict.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sorted({c for p in PLATES for c in p})) + "\n")
    train = []
    for i in range(n_train):
        rel = f"images/p_{i:03d}.png"
        _image(os.path.join(data, rel), i)
        label = unicodedata.normalize("NFD", PLATES[i % len(PLATES)])       # macOS-style decomposed Hangul
        train.append(f"{rel} {label}  \r\n")                               # space delimiter, trailing blanks, CRLF
    with open(os.path.join(data, "train.txt"), "wb") as f:
        f.write(b"\xef\xbb\xbf" + "".join(train).encode("utf-8") + b"\r\n")   # BOM, a blank CRLF line at the end
    val = []
    for i in range(n_val):
        rel = f"eval_images/v_{i:03d}.jpg"
        _image(os.path.join(data, rel), 100 + i)
        val.append(f"{rel}\t{PLATES[i % len(PLATES)]}\n")
    with open(os.path.join(data, "val.txt"), "w", encoding="utf-8", newline="") as f:
        f.write("".join(val))
    with open(os.path.join(data, "README.txt"), "w") as f:
        f.write("dataset notes; not a label file\n")


def _write_outputs(save, outside):
    """Checkpoints, an appended train.log, two VisualDL files, an export, a user file, a link outside."""
    os.makedirs(os.path.join(save, "best_model"))
    for prefix, epoch in (("latest", 3), ("best_accuracy", 2), ("iter_epoch_1", 1), ("iter_epoch_3", 3)):
        _checkpoint(os.path.join(save, prefix), epoch, epoch * 3)
    _checkpoint(os.path.join(save, "best_model", "model"), 2, 6)
    with open(os.path.join(save, "train.log"), "w") as f:
        f.write("[2024/05/01] ppexp INFO: epoch: [1/2], loss: 12.0\n" * 3)
        f.write("[2024/05/02] ppexp INFO: resume from latest: epoch 3\n" * 3)   # the appended second run
    _vdl_twice(os.path.join(save, "vdl"))
    os.makedirs(os.path.join(save, "inference"))
    for name in ("inference.json", "inference.pdiparams", "inference.yml"):
        with open(os.path.join(save, "inference", name), "wb") as f:
            f.write(os.urandom(64))
    with open(os.path.join(save, "notes.md"), "w") as f:
        f.write("my notes about exp8\n")
    os.makedirs(outside)
    with open(os.path.join(outside, "shared_weights.pdparams"), "wb") as f:
        f.write(b"not ours")
    os.symlink(os.path.join(outside, "shared_weights.pdparams"), os.path.join(save, "iter_epoch_2.pdparams"))


def _record_as_written(save):
    """What the engine records as it writes (.ppexp-written.json): every output but the user's notes and the link."""
    from ppexp.engine.written import record_written

    record_written(save, [os.path.join(d, n) for d, _, names in os.walk(save) for n in names
                          if n != "notes.md" and not os.path.islink(os.path.join(d, n))])


def build_dirty_experiment(root, n_train=24, n_val=8):
    """A run as a user leaves it after two failed attempts; returns a dict of its paths."""
    root = str(root)
    data = os.path.join(root, "train_data", "plates")
    save = os.path.join(root, "output", "rec", "exp8")
    outside = os.path.join(root, "elsewhere")
    _write_dataset(root, data, n_train, n_val)
    _write_outputs(save, outside)
    cfg_path = os.path.join(root, "configs", "exp8.yml")
    os.makedirs(os.path.dirname(cfg_path))
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write(CONFIG_TEXT.format(save=save, root=root, data=data))
    dump_config(get_config(cfg_path)[0], os.path.join(save, "config.yml"))
    _record_as_written(save)
    return {"root": root, "data": data, "save": save, "config": cfg_path, "outside": outside,
            "train": os.path.join(data, "train.txt"), "val": os.path.join(data, "val.txt")}


def snapshot(root):
    """{relative path: sha256 / 'link -> target' / 'dir'} of everything under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "link -> " + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                with open(p, "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()
    return out


def _reset(*args):
    return main(["reset", *args])


@pytest.fixture
def exp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return build_dirty_experiment(tmp_path)


def _archives(exp):
    root = os.path.join(os.path.dirname(exp["save"]), "_archive")
    return sorted(os.path.join(root, d) for d in os.listdir(root)) if os.path.isdir(root) else []


# ---------------------------------------------------------------- acceptance
def test_dry_run_changes_no_byte(exp, capsys):
    before = snapshot(exp["root"])
    assert _reset("-c", exp["config"], "--dry-run") == 0
    assert snapshot(exp["root"]) == before
    out = capsys.readouterr().out
    assert "latest.{pdopt,pdparams,states}" in out and "vdl/  (2 files)" in out and "why:" in out and "Global.checkpoints" in out
    assert "train.txt" in out and "BOM removed" in out and "dry run: nothing changed" in out


def _assert_untouched(exp, before, after):
    """Images and everything under data_dir but the label files byte-identical; outside untouched."""
    images = {k: v for k, v in before.items() if k.endswith((".png", ".jpg"))}
    assert len(images) == 32 and {k: after.get(k) for k in images} == images
    data_rel = os.path.relpath(exp["data"], exp["root"])
    for rel, digest in before.items():
        if rel.startswith(data_rel) and not rel.endswith(("train.txt", "val.txt")):
            assert after.get(rel) == digest, rel
    assert after["elsewhere/shared_weights.pdparams"] == before["elsewhere/shared_weights.pdparams"]
    assert after["configs/exp8.yml"] == before["configs/exp8.yml"]


def _assert_archived(exp, out):
    (archive,) = _archives(exp)
    assert sorted(os.listdir(exp["save"])) == [".ppexp-written.json", "env.json", "iter_epoch_2.pdparams",
                                               "notes.md"]
    assert os.path.islink(os.path.join(exp["save"], "iter_epoch_2.pdparams"))   # outside link: not followed
    assert "iter_epoch_2.pdparams: named like a ppexp output, but not recorded in .ppexp-written.json" in out
    moved = os.listdir(os.path.join(archive, "outputs"))
    for name in ("latest.pdparams", "latest.pdopt", "latest.states", "best_accuracy.pdparams", "train.log",
                 "vdl", "config.yml", "best_model", "inference", "iter_epoch_1.pdparams"):
        assert name in moved, name
    assert len(os.listdir(os.path.join(archive, "outputs", "vdl"))) == 2
    return archive


def _assert_labels_canonical(exp, out):
    for path in (exp["train"], exp["val"]):
        raw = open(path, "rb").read()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        text = raw.decode("utf-8")
        assert unicodedata.is_normalized("NFC", text)
        for line in text.splitlines():
            img, label = line.split("\t")
            assert img == img.strip() and label == label.strip() and label in PLATES
    assert len(open(exp["train"], encoding="utf-8").read().splitlines()) == 24
    assert "label validator" in out and "0 error(s)" in out


def _assert_config_and_env(exp, out):
    copy_path = exp["config"].replace(".yml", ".reset.yml")
    cfg, _ = get_config(copy_path)
    assert cfg["Global"]["checkpoints"] is None
    assert "a comment that must survive" in open(copy_path, encoding="utf-8").read()
    assert "ppexp train -c" in out
    env = json.load(open(os.path.join(exp["save"], "env.json"), encoding="utf-8"))
    assert env["written_by"] == "reset" and env["config_sha256"]
    train_rec = [r for r in env["label_files"] if r["path"].endswith("train.txt")][0]
    assert train_rec["sha256"] == hashlib.sha256(open(exp["train"], "rb").read()).hexdigest()


def test_reset_archives_cleans_is_idempotent_and_restorable(exp, capsys):
    before = snapshot(exp["root"])
    assert _reset("-c", exp["config"], "--yes") == 0
    out = capsys.readouterr().out
    after = snapshot(exp["root"])
    _assert_untouched(exp, before, after)
    archive = _assert_archived(exp, out)
    _assert_labels_canonical(exp, out)
    _assert_config_and_env(exp, out)
    # a second reset is a no-op
    assert _reset("-c", exp["config"], "--yes") == 0
    assert "Nothing to do" in capsys.readouterr().out
    assert snapshot(exp["root"]) == after
    # restore brings every byte back and removes the archive
    assert _reset("--restore", archive) == 0
    assert snapshot(exp["root"]) == before


def test_restore_refuses_to_clobber_a_newer_run(exp, capsys):
    assert _reset("-c", exp["config"], "--yes") == 0
    (archive,) = _archives(exp)
    with open(os.path.join(exp["save"], "train.log"), "w") as f:   # a new run started meanwhile
        f.write("new run\n")
    assert _reset("--restore", archive) == 1
    assert "conflict" in capsys.readouterr().out
    assert open(os.path.join(exp["save"], "train.log")).read() == "new run\n"
    assert os.path.isfile(os.path.join(archive, "outputs", "train.log"))   # still in the archive
    assert os.path.isfile(os.path.join(exp["save"], "latest.pdparams"))    # the rest came back


def test_purge_keep_best_in_place(exp):
    before = snapshot(exp["root"])
    assert _reset("-c", exp["config"], "--yes", "--purge", "--keep-best", "--in-place") == 0
    names = sorted(os.listdir(exp["save"]))
    assert "best_accuracy.pdparams" in names and "best_model" in names
    assert "latest.pdparams" not in names and "vdl" not in names and "train.log" not in names
    cfg, _ = get_config(exp["config"])
    assert cfg["Global"]["checkpoints"] is None
    (archive,) = _archives(exp)    # only the backups of the rewritten label file and config
    assert not os.path.isdir(os.path.join(archive, "outputs"))
    assert _reset("--restore", archive) == 0
    restored = snapshot(exp["root"])
    assert restored["configs/exp8.yml"] == before["configs/exp8.yml"]
    assert restored["train_data/plates/train.txt"] == before["train_data/plates/train.txt"]


def test_symlinked_label_file_is_not_followed(exp, tmp_path):
    real = tmp_path / "elsewhere" / "real_val.txt"
    os.replace(exp["val"], real)
    with open(real, "ab") as f:
        f.write(b"eval_images/v_000.jpg   12\xe1\x84\x80\xe1\x85\xa13456\r\n")
    os.symlink(real, exp["val"])
    digest = hashlib.sha256(real.read_bytes()).hexdigest()
    plan = build_plan(exp["config"], ResetOptions())
    assert any("symlink" in why for path, why in plan.refused if path == exp["val"])
    execute_plan(plan)
    assert hashlib.sha256(real.read_bytes()).hexdigest() == digest
    assert os.path.islink(exp["val"])


def test_labels_from_manifest(exp):
    manifest = os.path.join(exp["root"], "clean.csv")
    rows = ["file,image,label"] + [f"Train,images/p_{i:03d}.png,{PLATES[i % 8]}" for i in range(24)] + \
        [f"val.txt,eval_images/v_{i:03d}.jpg, {PLATES[i % 8]} " for i in range(8)]
    with open(manifest, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    assert _reset("-c", exp["config"], "--yes", "--labels-from", manifest) == 0
    lines = open(exp["train"], encoding="utf-8").read().splitlines()
    assert lines[0] == f"images/p_000.png\t{PLATES[0]}" and len(lines) == 24
    assert open(exp["val"], encoding="utf-8").read().splitlines()[1] == f"eval_images/v_001.jpg\t{PLATES[1]}"
    bad = os.path.join(exp["root"], "bad.csv")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("file,image,label\nnope.txt,a.png,1\n")
    assert _reset("-c", exp["config"], "--yes", "--labels-from", bad) == 2


def test_refuses_output_dir_inside_data_dir(exp):
    text = open(exp["config"], encoding="utf-8").read().replace(exp["save"], exp["data"] + "/out")
    with open(exp["config"], "w", encoding="utf-8") as f:
        f.write(text)
    before = snapshot(exp["root"])
    assert _reset("-c", exp["config"], "--yes") == 1
    assert snapshot(exp["root"]) == before


def test_caches_only_listed_files_removed(exp):
    cache = os.path.join(exp["save"], "previews")
    os.makedirs(cache)
    for name in ("p0.png", "p1.png", "user_photo.png"):
        _image(os.path.join(cache, name), 7)
    write_cache_marker(cache, "preview", [exp["train"]], ["p0.png", "p1.png"])
    plan = build_plan(exp["config"], ResetOptions())
    cached = [a.path for a in plan.by_group("caches")]
    assert sorted(os.path.basename(p) for p in cached) == [".ppexp-cache.json", "p0.png", "p1.png"]
    execute_plan(plan)
    assert os.listdir(cache) == ["user_photo.png"]


def test_canonicalize_is_idempotent_on_the_dirty_file(exp):
    cs = CharacterDict(os.path.join(exp["root"], "dict.txt"))
    raw = open(exp["train"], "rb").read()
    once = canonicalize(raw, "\t", cs)
    assert once.changes["BOM removed"] == 1 and once.changes["CRLF -> LF"] == 25
    assert once.changes["whitespace delimiter -> tab"] == 24 and not once.kept
    twice = canonicalize(once.data, "\t", cs)
    assert twice.data == once.data and not twice.changes


# ---------------------------------------------------------------- property: nothing outside the allowed set
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NAMES = st.sampled_from(["latest.pdparams", "latest.states", "best_accuracy.pdopt", "train.log", "config.yml",
                         "vdl", "best_model", "inference", "env.json", "notes.md", "img.png", "photo.jpg",
                         "a.txt", "iter_epoch_4.states", "predicts.txt", "x.pdparams.tmp12", "data.bin"])
TREE = st.recursive(st.binary(max_size=24), lambda kids: st.dictionaries(NAMES, kids, max_size=4), max_leaves=10)
ZONES = st.fixed_dictionaries({"save": st.dictionaries(NAMES, TREE, max_size=6),
                               "data": st.dictionaries(NAMES, TREE, max_size=4),
                               "other": st.dictionaries(NAMES, TREE, max_size=3)})
LINKS = st.lists(st.tuples(st.sampled_from(["save", "data"]), st.one_of(st.none(), NAMES), NAMES,
                           st.sampled_from(["data", "other", "save", "labels", "other/a.txt"])), max_size=3)
LABEL_BYTES = st.lists(st.sampled_from([b"\xef\xbb\xbf", b"img.png 12\xea\xb0\x803456\r\n", b"a.jpg\tx\n", b"\n",
                                        b" b.png\t 34\xeb\x82\x98 \n", b"junk line here\n"]), max_size=6)


def _materialise(base, tree):
    os.makedirs(base, exist_ok=True)
    for name, node in tree.items():
        p = os.path.join(base, name)
        if isinstance(node, dict):
            _materialise(p, node)
        else:
            with open(p, "wb") as f:
                f.write(node)


def _allowed(rel, save_rel, archive_rel, labels):
    return rel.startswith(save_rel + os.sep) or rel == save_rel or rel.startswith(archive_rel) or rel in labels \
        or rel.startswith("exp.reset.yml")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(zones=ZONES, links=LINKS, label=LABEL_BYTES, purge=st.booleans(), keep_best=st.booleans())
def test_property_never_touches_outside_allowed_set(tmp_path_factory, zones, links, label, purge, keep_best):
    root = str(tmp_path_factory.mktemp("prop"))
    save, data, other = (os.path.join(root, z) for z in ("runs/exp", "data", "other"))
    for zone, path in (("save", save), ("data", data), ("other", other)):
        _materialise(path, zones[zone])
    os.makedirs(save, exist_ok=True)
    label_file = os.path.join(data, "labels.txt")
    for zone, sub, name, target in links:     # links at the top level or one folder down, never followed
        parent = os.path.join(save if zone == "save" else data, sub or "")
        if os.path.isfile(parent) or os.path.islink(parent):
            continue
        os.makedirs(parent, exist_ok=True)
        if not os.path.lexists(os.path.join(parent, name)):
            dest = {"data": data, "other": other, "save": save, "labels": label_file}.get(target)
            os.symlink(dest or os.path.join(root, target), os.path.join(parent, name))
    with open(label_file, "wb") as f:
        f.write(b"".join(label))
    cfg = os.path.join(root, "exp.yml")
    with open(cfg, "w") as f:
        yaml.safe_dump({"Global": {"save_model_dir": save, "checkpoints": save + "/latest"},
                        "Train": {"dataset": {"name": "SimpleDataSet", "data_dir": data,
                                              "label_file_list": [label_file]}}}, f)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        _reset_and_check(root, cfg, purge, keep_best)
    finally:
        os.chdir(cwd)


def _reset_and_check(root, cfg, purge, keep_best):
    before = snapshot(root)
    plan = build_plan(cfg, ResetOptions(purge=purge, keep_best=keep_best))
    execute_plan(plan)
    after = snapshot(root)
    labels = {"data/labels.txt"}
    for rel, digest in before.items():
        image = rel.lower().endswith((".png", ".jpg")) and digest != "dir"
        if image or not _allowed(rel, "runs/exp", "runs/_archive", labels):
            assert after.get(rel) == digest, rel
    for rel in after:
        if rel not in before:
            assert _allowed(rel, "runs/exp", "runs/_archive", labels), rel
    second = build_plan(cfg, ResetOptions(purge=purge, keep_best=keep_best))
    assert not second.actions, [(a.kind, a.path) for a in second.actions]
    if plan.archive_dir:
        assert restore_archive(plan.archive_dir, log=lambda *_: None) == 0
        if not purge:
            assert snapshot(root) == before


def test_image_content_under_an_output_name_is_refused(exp):
    disguised = os.path.join(exp["save"], "iter_epoch_9.pdparams")   # an image saved under a checkpoint name
    _image(disguised + ".png", 3)
    os.replace(disguised + ".png", disguised)
    _record_as_written(exp["save"])     # even when recorded as ppexp's, image content is never moved
    digest = snapshot(exp["save"])["iter_epoch_9.pdparams"]
    plan = build_plan(exp["config"], ResetOptions(purge=True))
    assert any(p == disguised and "image" in why for p, why in plan.refused)
    execute_plan(plan)
    assert snapshot(exp["save"])["iter_epoch_9.pdparams"] == digest
