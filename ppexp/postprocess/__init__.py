"""Post-processing: model output -> text. Registry POSTPROCESS."""
from ppexp.utils.registry import Registry

POSTPROCESS = Registry("post-process")

from ppexp.postprocess.ctc_decode import CTCLabelDecode  # noqa: E402,F401
from ppexp.postprocess.db_postprocess import DBPostProcess  # noqa: E402,F401


def build_post_process(config, global_config=None, charset=None):
    """Build from the PostProcess section; Global's dictionary keys fill in."""
    cfg = dict(config or {})
    for key in ("character_dict_path", "use_space_char"):
        if global_config and key in global_config and key not in cfg:
            cfg[key] = global_config[key]
    if charset is not None:
        cfg.pop("character_dict_path", None)
        cfg.pop("use_space_char", None)
        return POSTPROCESS.build(cfg, where="PostProcess", charset=charset)
    return POSTPROCESS.build(cfg, where="PostProcess")
