"""ppexp predict: usage errors are one `ppexp predict: error:` line with the option to fix and an exit code."""
import os

from ppexp.cli import main

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")


def test_no_config_and_no_model_dir(capsys):
    assert main(["predict", "--image", "x.png"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ("ppexp predict: error: give -c CONFIG (a trained checkpoint) or --model_dir DIR "
                            "(an exported model)\n")


def test_no_image_names_both_ways_to_give_one(tmp_path, capsys):
    argv = ["predict", "-c", CONFIG, "-o", f"Global.save_model_dir={tmp_path}", "Global.infer_img=null"]
    assert main(argv) == 2
    assert ("ppexp predict: error: no image given: pass --image PATH or -o Global.infer_img=PATH"
            in capsys.readouterr().err)


def test_missing_image_fails_before_loading_a_model(tmp_path, capsys):
    missing = tmp_path / "nope.png"
    argv = ["predict", "-c", CONFIG, "-o", f"Global.save_model_dir={tmp_path}",
            f"Global.checkpoints={tmp_path / 'no_such_checkpoint'}", "--image", str(missing)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"ppexp predict: error: image '{missing}' does not exist; fix --image or Global.infer_img" in err
