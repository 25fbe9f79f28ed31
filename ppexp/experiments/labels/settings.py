"""What to check and with which parameters: from a training config (-c) or CLI options."""
import os
from dataclasses import dataclass, field

from ppexp.config import ConfigError, get_config
from ppexp.config_defaults import DEFAULT_IMAGE_SHAPE, resize_image_shape, split_files
from ppexp.errors import UsageError
from ppexp.utils.character import CharacterDict

LIST_DATASETS = ("SimpleDataSet", "MultiScaleDataSet")
LMDB_DATASETS = ("LMDBDataSet",)
# Width reduction of the recognition backbone: CTC time steps T = image width // stride. The rec
# backbones ppexp builds declare it (``width_stride(**options)``); these are upstream's that ppexp
# does not build, so that check-labels still reads their configs right. Any other: DEFAULT_STRIDE.
UPSTREAM_ONLY_STRIDES = {"ResNet_vd": 4, "SVTRNet": 4, "MobileNetV1Enhance": 8, "PPLCNetV3": 8}
DEFAULT_STRIDE = 4


@dataclass
class LabelSource:
    """One label file (or one LMDB directory) of a split."""
    split: str
    file: str
    data_dir: str = ""
    delimiter: str = "\t"
    kind: str = "file"                      # 'file' or 'lmdb'
    image_shape: tuple = DEFAULT_IMAGE_SHAPE


@dataclass
class CheckSettings:
    sources: list
    dict_path: str = None
    use_space_char: bool = False
    max_text_length: int = 25
    stride: int = DEFAULT_STRIDE
    time_steps: int = None                  # explicit T (else rows * (width // stride))
    rows: int = 1                           # SequenceEncoder rows: feature-map rows read one after the other
    images: bool = True
    workers: int = 0                        # 0: os.cpu_count()
    max_examples: int = 20
    strict: bool = False
    max_squash: float = 2.0
    progress: bool = True
    fix: str = None
    json: str = None
    config_path: str = None
    backbone: str = None
    det: bool = False                       # detection labels (DetLabelEncode): JSON box lists
    notes: list = field(default_factory=list)
    _charset: object = None

    @property
    def charset(self):
        if self._charset is None:
            try:
                self._charset = CharacterDict(self.dict_path, self.use_space_char)
            except (FileNotFoundError, ValueError) as err:
                raise UsageError(str(err)) from err
        return self._charset

    def time_steps_for(self, source):
        """CTC time steps T for a source's image width."""
        if self.time_steps:
            return int(self.time_steps)
        return max(1, int(self.rows) * (int(source.image_shape[2]) // int(self.stride)))


def parse_delimiter(text):
    """'TAB', '\\t', 'SPACE', ',' ... -> the delimiter character(s)."""
    if text is None:
        return "\t"
    named = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "\\s": " "}
    value = named.get(text.lower(), text)
    if value == "":
        raise UsageError("--delimiter must not be empty")
    return value


def parse_image_shape(text):
    """'3,32,100' -> (3, 32, 100)."""
    try:
        shape = tuple(int(v) for v in str(text).replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise UsageError(f"--image-shape must look like 3,32,100 (C,H,W), got '{text}'")
    return shape


def _sources_from_split(config, split, path):
    sf = split_files(config, split)
    if sf is None:
        return []
    name, data_dir = sf.name, sf.data_dir
    shape = tuple(resize_image_shape(sf.dataset.get("transforms")))
    if sf.is_lmdb:
        dirs = data_dir if isinstance(data_dir, list) else [data_dir]
        return [LabelSource(split, d, d, kind="lmdb", image_shape=shape) for d in dirs]
    if name not in LIST_DATASETS:
        raise UsageError(f"{path}: {split}.dataset.name '{name}' is not supported by check-labels "
                         f"(supported: {', '.join(LIST_DATASETS + LMDB_DATASETS)})")
    if isinstance(data_dir, list):
        raise UsageError(f"{path}: {split}.dataset.data_dir must be one directory for {name}")
    if not sf.label_files:
        raise UsageError(f"{path}: {split}.dataset.label_file_list is empty")
    return [LabelSource(split, f, data_dir, sf.delimiter, image_shape=shape) for f in sf.label_files]


def _has_op(config, split, name):
    transforms = (((config.get(split) or {}).get("dataset") or {}).get("transforms")) or []
    return any(isinstance(op, dict) and name in op for op in transforms)


def settings_from_config(path, overrides=None, **cli):
    """Build CheckSettings from a training config; CLI values (not None) win."""
    try:
        config, warnings = get_config(path, overrides)
    except ConfigError as err:
        raise UsageError(str(err)) from err
    glob = config.get("Global") or {}
    sources = []
    for split in ("Train", "Eval"):
        sources += _sources_from_split(config, split, path)
    if not sources:
        raise UsageError(f"{path}: neither Train.dataset nor Eval.dataset is configured")
    backbone_cfg = (config.get("Architecture") or {}).get("Backbone") or {}
    backbone = backbone_cfg.get("name")
    det = any(_has_op(config, split, "DetLabelEncode") for split in ("Train", "Eval"))
    settings = CheckSettings(
        sources=sources,
        dict_path=glob.get("character_dict_path") or None,
        use_space_char=bool(glob.get("use_space_char", False)),
        max_text_length=int(glob.get("max_text_length", 25)),
        stride=DEFAULT_STRIDE,
        rows=int(((config.get("Architecture") or {}).get("Neck") or {}).get("rows", 1) or 1),
        config_path=path,
        backbone=backbone,
        det=det,
        notes=list(warnings),
    )
    if backbone and not det:
        stride = backbone_width_stride(backbone_cfg)
        settings.stride = stride or DEFAULT_STRIDE
        if stride is None and cli.get("stride") is None:
            settings.notes.append(f"backbone '{backbone}' has no known width stride; assuming {DEFAULT_STRIDE} "
                                  "(pass --stride or --time-steps)")
    return apply_cli(settings, **cli)


def backbone_width_stride(backbone_cfg):
    """Width stride of a config's ``Architecture.Backbone`` (rec), or None when it is not known.

    A rec backbone ppexp builds declares it from its options as ``width_stride(**options)``
    (None when it declares none or rejects the options);
    upstream-only ones come from UPSTREAM_ONLY_STRIDES.
    """
    import ppexp.modeling.backbones  # noqa: F401  (registers the rec backbones; imports paddle)
    from ppexp.modeling.registry import BACKBONES

    name = backbone_cfg.get("name")
    if name in BACKBONES:
        declared = getattr(BACKBONES.get(name), "width_stride", None)
        options = {k: v for k, v in backbone_cfg.items() if k != "name"}
        try:
            return int(declared(**options)) if declared else None
        except (TypeError, ValueError):
            return None
    return UPSTREAM_ONLY_STRIDES.get(name)


def apply_cli(settings, label_files=None, eval_label_files=None, data_dir=None, delimiter=None,
              image_shape=None, **values):
    """Override settings with explicit CLI values (None means 'not given')."""
    if label_files or eval_label_files:
        base = settings.sources[0] if settings.sources else LabelSource("labels", "")
        settings.sources = (
            [LabelSource("Train" if settings.config_path or eval_label_files else "labels", f, base.data_dir,
                         base.delimiter,
                         image_shape=base.image_shape) for f in label_files or []]
            + [LabelSource("Eval", f, base.data_dir, base.delimiter, image_shape=base.image_shape)
               for f in eval_label_files or []])
    for src in settings.sources:
        if data_dir is not None:
            src.data_dir = data_dir
        if delimiter is not None:
            src.delimiter = parse_delimiter(delimiter)
        if image_shape is not None:
            src.image_shape = parse_image_shape(image_shape)
    for key, value in values.items():
        if value is not None:
            setattr(settings, key, value)
    return settings


def validate(settings):
    """Raise UsageError for inputs that do not exist or values that make no sense."""
    if not settings.sources:
        raise UsageError("nothing to check: pass -c config.yml or --label-file FILE")
    for src in settings.sources:
        if src.kind == "lmdb":
            if not os.path.isdir(src.file):
                raise UsageError(f"{src.split}: LMDB data_dir '{src.file}' does not exist")
        elif not os.path.isfile(src.file):
            raise UsageError(f"{src.split}: label file '{src.file}' does not exist")
        if settings.images and src.kind == "file" and src.data_dir and not os.path.isdir(src.data_dir):
            raise UsageError(f"{src.split}: data_dir '{src.data_dir}' does not exist (or pass --no-images)")
    if settings.max_text_length <= 0:
        raise UsageError("--max-text-length must be positive")
    if settings.stride <= 0 or (settings.time_steps is not None and settings.time_steps <= 0):
        raise UsageError("--stride and --time-steps must be positive")
    if settings.fix and any(s.kind == "lmdb" for s in settings.sources):
        raise UsageError("--fix works on label files, not LMDB datasets")
    if settings.fix and settings.det:
        raise UsageError("--fix is not available for detection labels yet; the report lists every line to mend")
    settings.charset  # noqa: B018  (loads the dictionary; UsageError if missing)
    return settings
