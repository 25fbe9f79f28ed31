"""CTCLabelDecode: greedy CTC decoding (argmax, collapse repeats, drop blanks)."""
import numpy as np

from ppexp.postprocess import POSTPROCESS
from ppexp.utils.character import CharacterDict


@POSTPROCESS.register()
class CTCLabelDecode:
    """Decode [B, T, C] predictions to ``[(text, mean confidence), ...]``.

    Called with labels too (training/eval) it returns ``(preds, labels)``,
    labels decoded without collapsing repeats, as upstream does.
    """

    def __init__(self, character_dict_path=None, use_space_char=False, charset=None):
        self.charset = charset or CharacterDict(character_dict_path, use_space_char)
        self.character = np.array(self.charset.classes, dtype=object)

    def decode(self, text_index, text_prob=None, is_remove_duplicate=False):
        results = []
        for b in range(len(text_index)):
            ids = np.asarray(text_index[b])
            keep = ids != 0
            if is_remove_duplicate:
                keep[1:] &= ids[1:] != ids[:-1]
            chars = self.character[ids[keep]]
            if text_prob is not None:
                conf = np.asarray(text_prob[b])[keep]
                score = float(conf.mean()) if conf.size else 0.0
            else:
                score = 1.0 if keep.any() else 0.0
            results.append(("".join(chars.tolist()), score))
        return results

    def __call__(self, preds, label=None, *args, **kwargs):
        if isinstance(preds, (tuple, list)):
            preds = preds[-1]
        if hasattr(preds, "numpy"):
            preds = preds.numpy()
        preds_idx = preds.argmax(axis=2)
        preds_prob = preds.max(axis=2)
        text = self.decode(preds_idx, preds_prob, is_remove_duplicate=True)
        if label is None:
            return text
        if hasattr(label, "numpy"):
            label = label.numpy()
        return text, self.decode(label)
