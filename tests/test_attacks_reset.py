"""Issue 15, items 1 and 2: `ppexp reset` and `--restore` act only on what ppexp wrote, inside the experiment.

Each test reproduces the attack on a realistic dirty experiment (test_reset.build_dirty_experiment,
under tmp dirs), then asserts that nothing outside the rules changed.
"""
import hashlib
import json
import os

import pytest

from ppexp.cli import main
from ppexp.engine.run_lock import run_lock
from ppexp.experiments.reset.archive import MANIFEST, load_manifest, save_manifest
from test_reset import build_dirty_experiment, snapshot


@pytest.fixture
def exp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return build_dirty_experiment(tmp_path, n_train=8, n_val=4)


def _reset_archive(exp):
    assert main(["reset", "-c", exp["config"], "--yes"]) == 0
    root = os.path.join(os.path.dirname(exp["save"]), "_archive")
    (name,) = os.listdir(root)
    return os.path.join(root, name)


def _victim(exp):
    path = os.path.join(exp["root"], "victim.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("a file outside the experiment\n")
    return path


# ---------------------------------------------------------------- 1. restore trusts no edited manifest
def _escape_archived(exp, data, victim, archive):
    """Point a move's source at an image in the data dir: restore would move it into save_model_dir."""
    entry = next(e for e in data["entries"] if e["op"] == "move")
    image = os.path.join(exp["data"], "images", "p_000.png")
    entry["archived"] = "outputs/" + os.path.relpath(image, os.path.join(archive, "outputs"))


def _absolute_archived(exp, data, victim, archive):
    entry = next(e for e in data["entries"] if e["op"] == "move")
    entry["archived"] = os.path.join(exp["data"], "images", "p_001.png")


def _delete_outside(exp, data, victim, archive):
    """A 'create' entry for a file outside the experiment, named as the train_config: restore deletes it."""
    digest = hashlib.sha256(open(victim, "rb").read()).hexdigest()
    data["train_config"] = victim
    data["entries"].append({"op": "create", "path": victim, "sha256": digest})


def _overwrite_outside(exp, data, victim, archive):
    """A 'rewrite' entry for a file listed as a label file: restore writes the backup over it."""
    digest = hashlib.sha256(open(victim, "rb").read()).hexdigest()
    data["label_files"].append(victim)
    backup = next(e["backup"] for e in data["entries"] if e["op"] == "rewrite")
    data["entries"].append({"op": "rewrite", "role": "label", "path": victim, "backup": backup,
                            "old_sha256": digest, "new_sha256": digest})


@pytest.mark.parametrize("edit", [_escape_archived, _absolute_archived, _delete_outside, _overwrite_outside])
@pytest.mark.parametrize("recompute_checksum", [False, True])
def test_restore_refuses_an_edited_manifest_and_touches_nothing(exp, capsys, edit, recompute_checksum):
    archive = _reset_archive(exp)
    victim = _victim(exp)
    data = load_manifest(archive)
    edit(exp, data, victim, archive)
    if recompute_checksum:           # a careful attacker also rewrites manifest.json.sha256
        save_manifest(archive, data)
    else:
        with open(os.path.join(archive, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
    capsys.readouterr()
    before = snapshot(exp["root"])
    assert main(["reset", "--restore", archive]) == 1          # before: moved, deleted, overwrote; exit 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("ppexp reset: error: ") and "\n" not in err
    assert ("does not match its checksum" in err) != recompute_checksum
    assert snapshot(exp["root"]) == before


# ---------------------------------------------------------------- 2. reset acts only on what ppexp wrote
def test_purge_never_deletes_a_users_file_named_like_an_output(exp):
    own = {"app.log": "the user's application log\n", "config.yml": "user: settings\n"}
    os.remove(os.path.join(exp["save"], "config.yml"))   # ppexp's copy gone, the user's own in its place
    for name, text in own.items():
        with open(os.path.join(exp["save"], name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(exp["save"], "latest.states"), "ab") as f:
        f.write(b"edited")                                # changed after ppexp wrote it: not ppexp's any more
    assert main(["reset", "-c", exp["config"], "--yes", "--purge"]) == 0
    names = os.listdir(exp["save"])
    for name, text in own.items():                        # before: --purge deleted both
        assert open(os.path.join(exp["save"], name), encoding="utf-8").read() == text
    assert "latest.states" in names
    assert "latest.pdparams" not in names and "train.log" not in names and "vdl" not in names


def _config_with(tmp_path, save_dir, label_file=None):
    path = tmp_path / "cfg.yml"
    label = f"\nTrain:\n  dataset:\n    data_dir: {tmp_path}/data\n    label_file_list: [{label_file}]\n" if label_file else ""
    path.write_text(f"Global:\n  save_model_dir: {save_dir}\n{label}", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("save_dir, expect", [
    ("/var/log", "is a system directory (under /var)"),
    ("/usr", "is a system directory (under /usr)"),
    ("/ppexp-no-such-dir", "is a filesystem root or a folder right under one"),
    ("~", "is the home directory or above it"),
])
def test_dry_run_refuses_system_home_and_root_save_dirs(tmp_path, capsys, save_dir, expect):
    cfg = _config_with(tmp_path, os.path.expanduser(save_dir))
    assert main(["reset", "-c", cfg, "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert expect in err
    assert "Nothing to do" not in out and "_archive" not in out   # before: planned moves to /var/_archive


def test_label_file_in_a_system_dir_is_never_planned_for_rewrite(tmp_path, capsys):
    cfg = _config_with(tmp_path, tmp_path / "out" / "run", "/etc/hosts")
    assert main(["reset", "-c", cfg, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "/etc/hosts: a system file (under /etc); reset never rewrites those" in out
    assert "rewrite /etc/hosts" not in out and "rewrite  /etc/hosts" not in out


def test_symlinked_save_dir_is_refused_and_its_target_untouched(exp, tmp_path, capsys):
    link = os.path.join(exp["root"], "output", "rec", "exp8_link")
    os.symlink(exp["save"], link)
    text = open(exp["config"], encoding="utf-8").read().replace(exp["save"], link)
    with open(exp["config"], "w", encoding="utf-8") as f:
        f.write(text)
    before = snapshot(exp["root"])
    assert main(["reset", "-c", exp["config"], "--yes"]) == 1     # before: the target's files were archived
    assert f"is a symlink (to {exp['save']})" in capsys.readouterr().err
    assert snapshot(exp["root"]) == before


def test_reset_refuses_while_a_trainer_holds_the_run_lock(exp, capsys):
    before = snapshot(exp["root"])
    with run_lock(exp["save"]):
        assert main(["reset", "-c", exp["config"], "--yes"]) == 1
    assert f"a training run is using Global.save_model_dir {exp['save']} (pid {os.getpid()}" in \
        capsys.readouterr().err
    after = snapshot(exp["root"])
    after.pop("output/rec/exp8/.ppexp.lock")
    assert after == before
