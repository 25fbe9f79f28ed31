"""CTCLabelEncode: text label -> padded class ids, with the reason for any rejection."""
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.utils.character import CharacterDict


def encode_label(text, charset, max_text_length):
    """(class ids, None) for an accepted label, or (None, why upstream's CTCLabelEncode rejects it).

    Upstream rejects empty labels and labels longer than max_text_length
    (counted before unknown characters are dropped), and labels where every
    character is unknown.
    """
    if len(text) == 0:
        return None, "empty label"
    if len(text) > max_text_length:
        return None, f"label longer than max_text_length={max_text_length}"
    ids = charset.encode(text)
    if not ids:
        return None, "no character of the label is in the dictionary"
    return ids, None


def check_label(text, charset, max_text_length):
    """Why upstream's CTCLabelEncode would reject ``text`` (None if accepted)."""
    return encode_label(text, charset, max_text_length)[1]


@TRANSFORMS.register()
class CTCLabelEncode:
    """Encode ``data['label']`` into ``label`` (int64, zero-padded), ``length`` and ``label_ace``."""
    label_encoder = train_only = text_label_encoder = True

    def __init__(self, max_text_length=25, character_dict_path=None, use_space_char=False, charset=None):
        self.max_text_len = int(max_text_length)
        self.charset = charset or CharacterDict(character_dict_path, use_space_char)

    @property
    def character(self):
        return self.charset.classes

    def __call__(self, data):
        ids, reason = encode_label(data["label"], self.charset, self.max_text_len)
        if reason:
            data["_reject"] = reason
            return None
        data["length"] = np.array(len(ids), dtype=np.int64)
        data["label"] = np.array(ids + [0] * (self.max_text_len - len(ids)), dtype=np.int64)
        ace = np.zeros(len(self.charset.classes), dtype=np.int64)
        np.add.at(ace, ids, 1)
        ace[0] = self.max_text_len - len(ids)
        data["label_ace"] = ace
        return data
