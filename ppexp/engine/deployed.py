"""Run an exported model (``ppexp export``) the way PaddleOCR 3 / PaddleX's TextRecognition runs it.

Paddle Inference on inference.json/.pdiparams, the pre-processing and dictionary of its
inference.yml, and the inference width rule of ppexp/data/imaug/rec_resize.py. Used by
``ppexp predict --model_dir``, ``ppexp eval --model_dir`` and ``ppexp ocr``.

``input_shape`` [C, H, W] mirrors ``TextRecognition(input_shape=...)``: PaddleX then resizes every crop
to exactly H x W (stretched, no padding: RecResizeImg ``padding: false``) instead of the width rule.
A model trained on squeezed wide crops reads those better that way; inference.yml cannot carry it.
"""
import copy
import os

import numpy as np
import paddle
import yaml

from ppexp.data.imaug import create_operators, transform
from ppexp.engine.export import PPEXP_PREPROCESS_KEY
from ppexp.errors import UsageError
from ppexp.utils.character import CharacterDict


class ExportedModel:
    """Callable like a model in eval mode: [N, C, H, W] -> softmax [N, T, classes]."""

    def __init__(self, model_dir, mkldnn=True):
        prefix = os.path.join(model_dir, "inference")
        graph = next((prefix + ext for ext in (".json", ".pdmodel") if os.path.exists(prefix + ext)), None)
        if graph is None or not os.path.exists(prefix + ".pdiparams"):
            raise FileNotFoundError(f"{model_dir}: no inference.json (or .pdmodel) + inference.pdiparams; "
                                    "write them with `ppexp export -o Global.save_inference_dir=...`")
        config = paddle.inference.Config(graph, prefix + ".pdiparams")
        config.disable_gpu()
        config.disable_glog_info()
        if not mkldnn:  # Paddle 3.3's oneDNN executor cannot run nearest_interp's scale attribute (DBFPN)
            config.disable_mkldnn()
        self.predictor = paddle.inference.create_predictor(config)

    def eval(self):
        return self

    def train(self):
        return self

    def __call__(self, images):
        batch = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
        handle = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        handle.reshape(list(batch.shape))
        handle.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        self.predictor.run()
        out = self.predictor.get_output_handle(self.predictor.get_output_names()[0]).copy_to_cpu()
        return paddle.to_tensor(out)


def read_infer_config(model_dir):
    path = os.path.join(model_dir, "inference.yml")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist; --model_dir must be a directory written by ppexp export")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def parse_input_shape(text, flag="--input-shape", applies=True):
    """'3,64,192' -> [3, 64, 192] (None stays None); UsageError naming the flag for a malformed shape,
    or for any shape where it does not ``apply`` (a checkpoint or a det model instead of a rec export)."""
    if text is None:
        return None
    if not applies:
        raise UsageError(f"{flag} sets how an exported recogniser (--model_dir) resizes its images; it has no "
                         "meaning for a checkpoint or a det model")
    try:
        shape = [int(v) for v in str(text).replace("x", ",").split(",")]
    except ValueError:
        shape = []
    if len(shape) != 3 or min(shape) <= 0:
        raise UsageError(f"{flag} {text!r}: give C,H,W, e.g. 3,64,192 (TextRecognition's input_shape)")
    return shape


def infer_transform_configs(infer_cfg, path="inference.yml", input_shape=None):
    """PreProcess.transform_ops with RecResizeImg in infer_mode (or, with ``input_shape``, a plain
    resize to it) and the label encoders left out."""
    ops = []
    for item in (infer_cfg.get("PreProcess") or {}).get("transform_ops") or []:
        (name, params), = item.items()
        if name.endswith("LabelEncode"):
            continue
        if name == "RecResizeImg":
            params = ({"image_shape": list(input_shape), "padding": False} if input_shape
                      else dict(params or {}, infer_mode=True))
        ops.append({name: params})
    if not any("RecResizeImg" in op for op in ops):
        raise ValueError(f"{path}: PreProcess.transform_ops has no RecResizeImg; re-export the model")
    extra = list(infer_cfg.get(PPEXP_PREPROCESS_KEY) or [])   # ppexp-only image steps, right after decoding
    at = next((i + 1 for i, op in enumerate(ops) if "DecodeImage" in op), 0)
    return ops[:at] + extra + ops[at:]


def exported_charset(infer_cfg):
    """The dictionary of inference.yml's PostProcess (None there: the built-in 0-9a-z)."""
    chars = (infer_cfg.get("PostProcess") or {}).get("character_dict")
    return CharacterDict(characters=chars) if chars else CharacterDict()


def load_exported(model_dir, input_shape=None):
    """(ExportedModel, inference transforms, CharacterDict) of an exported model directory."""
    infer_cfg = read_infer_config(model_dir)
    charset = exported_charset(infer_cfg)
    ops = create_operators(infer_transform_configs(infer_cfg, os.path.join(model_dir, "inference.yml"), input_shape),
                           {"charset": charset}, "inference.yml PreProcess")
    return ExportedModel(model_dir), ops, charset


def ppexp_preprocessor(model_dir):
    """A function BGR crop -> BGR crop running the ppexp-only image steps an export records under
    inference.yml's ``ppexp_preprocess`` (ShrinkLarge, Deskew, CropToText, TwoLineToOneLine: none of them
    PaddleX ops), in order; the crop unchanged when there are none. For PaddleOCR 3 applications::

        pre = ppexp_preprocessor(model_dir)
        TextRecognition(model_dir=model_dir, input_shape=(3, 64, 192)).predict(pre(cv2.imread(path)))
    """
    steps = list(read_infer_config(model_dir).get(PPEXP_PREPROCESS_KEY) or [])
    ops = create_operators(steps, {}, f"{os.path.join(model_dir, 'inference.yml')} {PPEXP_PREPROCESS_KEY}")

    return lambda img: transform({"image": img}, ops)["image"]


def eval_config_for_exported(config, model_dir, input_shape=None):
    """``config`` with the Eval set read as the exported model sees it: inference.yml's image steps
    (inference width rule, so one image per batch) after the config's label encoder."""
    config = copy.deepcopy(config)
    infer_ops = infer_transform_configs(read_infer_config(model_dir), input_shape=input_shape)
    dataset = config["Eval"]["dataset"]
    labels = [op for op in dataset["transforms"] if next(iter(op)).endswith("LabelEncode")]
    decode = [op for op in infer_ops if "DecodeImage" in op]
    rest = [op for op in infer_ops if "DecodeImage" not in op and "KeepKeys" not in op]
    dataset["transforms"] = decode + labels + rest + [{"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]
    config["Eval"].setdefault("loader", {})["batch_size_per_card"] = 1
    return config
