"""The character dictionary shared by label encoder, decoder, validator and synthesizer.

Loading follows upstream PaddleOCR exactly: without a dictionary file the
alphabet is ``0-9a-z`` and labels are lower-cased; with one, every line
(stripped of its line ending only) is one class; ``use_space_char`` appends
a space class. For CTC the blank class is index 0, so a character at
dictionary position ``i`` (0-based) has class id ``i + 1``.
"""
import os

DEFAULT_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class CharacterDict:
    """An ordered list of classes with upstream's lookup semantics.

    Attributes:
        characters: classes in dictionary order (without the CTC blank).
        lower: labels are lower-cased before encoding (no dictionary given).
        path: the dictionary file, or None for the built-in alphabet.
    """

    BLANK = "blank"

    def __init__(self, character_dict_path=None, use_space_char=False, characters=None):
        self.path = character_dict_path
        self.use_space_char = bool(use_space_char)
        if characters is not None:
            chars, self.lower = list(characters), False
        elif character_dict_path:
            chars, self.lower = self.read_lines(character_dict_path), False
        else:
            chars, self.lower = list(DEFAULT_ALPHABET), True
        if self.use_space_char and not self.lower:
            chars.append(" ")
        self.characters = chars
        # With CTC the blank takes index 0. Duplicate entries map to the last
        # occurrence, as upstream's dict comprehension does.
        self.classes = [self.BLANK] + chars
        self.index = {ch: i for i, ch in enumerate(self.classes)}

    @staticmethod
    def read_lines(path):
        """Read dictionary lines the way upstream does (strip '\\n' / '\\r\\n' only)."""
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"character_dict_path '{path}' does not exist; set Global.character_dict_path "
                "to a dictionary file (one character per line) or leave it empty for 0-9a-z"
            )
        with open(path, "rb") as f:
            raw = f.readlines()
        out = []
        for lineno, line in enumerate(raw, 1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{path}:{lineno}: not UTF-8 ({err}); re-save the dictionary as UTF-8") from err
            out.append(text.strip("\n").strip("\r\n"))
        return out

    @classmethod
    def from_config(cls, global_cfg):
        """Build from a config's ``Global`` section."""
        global_cfg = global_cfg or {}
        return cls(global_cfg.get("character_dict_path"), global_cfg.get("use_space_char", False))

    @property
    def num_classes(self):
        """Head output size: dictionary + blank."""
        return len(self.classes)

    def __len__(self):
        return len(self.classes)

    def __contains__(self, ch):
        return ch in self.index and ch != self.BLANK

    def normalize(self, text):
        return text.lower() if self.lower else text

    def encode(self, text):
        """Class ids for ``text``; unknown characters are dropped (upstream semantics)."""
        text = self.normalize(text)
        index = self.index
        return [index[ch] for ch in text if ch in index and ch != self.BLANK]

    def unknown_chars(self, text):
        """Characters of ``text`` that encode() would drop, in order."""
        text = self.normalize(text)
        return [ch for ch in text if ch not in self]

    def decode_ids(self, ids):
        """Characters for class ids (no CTC collapsing; blanks skipped)."""
        classes = self.classes
        return "".join(classes[i] for i in ids if i != 0)
