"""The defaults of plain config keys, each written once, and the facts every reader derives.

The config travels as the dict PaddleOCR's YAML gives (so upstream configs load
unchanged); code that needs a value a config may omit asks here instead of
repeating the default:

- :func:`save_model_dir`, :func:`det_save_res_path`, :func:`eval_batch_step`, :func:`print_batch_step`,
  :func:`global_value` (any ``Global`` key with its default);
- :func:`dataset_files` / :func:`split_files`: the label files of each split
  with their ``data_dir`` and delimiter;
- :func:`resize_image_shape`: the [C, H, W] a split's resize transform feeds
  the model;
- :func:`dict_path`: the character dictionary.

Imports nothing from ppexp: every layer may use it.
"""
import copy
from dataclasses import dataclass, field

SAVE_MODEL_DIR = "./output/rec/"
DET_SAVE_RES_PATH = "./output/det_db/predicts_db.txt"     # upstream's det configs' save_res_path
SPLITS = ("Train", "Eval")
DEFAULT_DELIMITER = "\t"
DEFAULT_DATASET = "SimpleDataSet"
# Input shape [C, H, W] when the resize transform names none (upstream's CRNN default).
DEFAULT_IMAGE_SHAPE = (3, 32, 100)
# Transforms whose ``image_shape`` is the model's input shape [C, H, W] (upstream's names; only
# RecResizeImg is built by ppexp, which declares ``carries_input_shape`` on its class).
RESIZE_OPS = ("RecResizeImg", "SVTRRecResizeImg", "RobustScannerRecResizeImg", "SRNRecResizeImg")

_LOADER = {"num_workers": 0, "use_shared_memory": True, "batch_size_per_card": 1}
_DATASET = {"name": DEFAULT_DATASET, "delimiter": DEFAULT_DELIMITER, "ratio_list": 1.0, "ext_op_transform_idx": 2}

# What the trainer, loaders and builders use when a key of a plain section is omitted.
SECTION_DEFAULTS = {
    ("Global",): {
        "use_gpu": False, "epoch_num": 1, "log_smooth_window": 20, "print_batch_step": 10,
        "save_epoch_step": 1, "eval_batch_step": [0, 2000], "cal_metric_during_train": False,
        "use_visualdl": True, "seed": 1024, "use_amp": False, "amp_level": "O1", "amp_dtype": "float16",
        "scale_loss": 1.0, "use_dynamic_loss_scaling": False, "accumulate_steps": 1,
        "max_sample_retries": 20, "use_space_char": False, "max_text_length": 25,
        "distributed": False, "infer_mode": False,
    },
    ("Architecture",): {"model_type": "rec"},
    ("Train", "loader"): {"shuffle": True, "drop_last": True, **_LOADER},
    ("Eval", "loader"): {"shuffle": False, "drop_last": False, **_LOADER},
    ("Train", "dataset"): dict(_DATASET),
    ("Eval", "dataset"): dict(_DATASET),
    ("Optimizer", "lr"): {"name": "Const"},
    ("Optimizer", "regularizer"): {"factor": 0.0},
}
GLOBAL_DEFAULTS = SECTION_DEFAULTS[("Global",)]


def _global(config):
    return (config or {}).get("Global") or {}


def global_value(config, key):
    """``Global.<key>`` of a config, or its default (a copy: callers may change it)."""
    g = _global(config)
    return g[key] if key in g else copy.deepcopy(GLOBAL_DEFAULTS.get(key))


def save_model_dir(config):
    """``Global.save_model_dir``; empty or absent -> ``./output/rec/`` (upstream's default)."""
    return _global(config).get("save_model_dir") or SAVE_MODEL_DIR


def det_save_res_path(config):
    """``Global.save_res_path`` of a det prediction; empty or absent -> upstream's det default."""
    return _global(config).get("save_res_path") or DET_SAVE_RES_PATH


def eval_batch_step(config):
    """``Global.eval_batch_step`` as written (``N`` or ``[start, interval]``); absent -> [0, 2000]."""
    return global_value(config, "eval_batch_step")


def print_batch_step(config):
    return int(global_value(config, "print_batch_step"))


def dict_path(config):
    """``Global.character_dict_path``, None when unset (the built-in lowercase 0-9a-z set)."""
    return _global(config).get("character_dict_path") or None


def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@dataclass
class SplitFiles:
    """The data a split reads, as its config names it (nothing is checked on disk)."""
    split: str
    name: str = DEFAULT_DATASET                     # dataset class
    data_dirs: list = field(default_factory=list)   # a str data_dir -> one entry; lists kept as given
    label_files: list = field(default_factory=list)
    delimiter: str = DEFAULT_DELIMITER
    dataset: dict = field(default_factory=dict)     # the raw ``<split>.dataset`` section

    @property
    def data_dir(self):
        """The data_dir as written ('' when absent); a list for LMDB datasets with several roots."""
        return self.dataset.get("data_dir") or ""

    @property
    def is_lmdb(self):
        return self.name == "LMDBDataSet"


def split_files(config, split):
    """:class:`SplitFiles` of one split; None when the config has no ``<split>.dataset``."""
    dataset = (((config or {}).get(split) or {}).get("dataset")) or {}
    if not dataset:
        return None
    return SplitFiles(split, dataset.get("name", DEFAULT_DATASET), _as_list(dataset.get("data_dir") or None),
                      _as_list(dataset.get("label_file_list") or None),
                      dataset.get("delimiter", DEFAULT_DELIMITER), dataset)


def dataset_files(config, splits=SPLITS):
    """[:class:`SplitFiles`] of the splits present, in ``splits`` order."""
    return [s for s in (split_files(config, split) for split in splits) if s is not None]


def resize_image_shape(transforms, default=DEFAULT_IMAGE_SHAPE, ops=RESIZE_OPS):
    """[C, H, W] of the first transform in ``ops`` with a 3-item ``image_shape``, else ``default``."""
    for op in transforms or []:
        if isinstance(op, dict) and len(op) == 1:
            name, params = next(iter(op.items()))
            if name in ops and isinstance(params, dict) and params.get("image_shape"):
                shape = params["image_shape"]
                if isinstance(shape, (list, tuple)) and len(shape) == 3:
                    return [int(v) for v in shape]
    return list(default)


def split_image_shape(config, split):
    """The input shape [C, H, W] ``<split>``'s transforms resize to (default [3, 32, 100])."""
    dataset = (((config or {}).get(split) or {}).get("dataset")) or {}
    return resize_image_shape(dataset.get("transforms"))
