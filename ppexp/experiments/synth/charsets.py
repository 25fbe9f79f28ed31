"""Character pools of Korean licence plates and the plate dictionary built from them.

Everything the generator can emit comes from the constants below;
``plate_characters()`` derives ``ppexp/dicts/kr_plate_dict.txt`` from them, and a
test keeps the shipped file identical to it (no missing, no unreachable entries).

Rules (Ministry of Land, Infrastructure and Transport plate regulation):
- private cars: 32 letters 가나다라마 / 거너더러머버서어저 / 고노도로모보소오조 / 구누두루무부수우주;
- commercial (yellow): 바사아자; delivery trucks: 배; rental cars: 하허호;
- military: 육 (army) 해 (navy) 공 (air force) 국 (MND) 합 (joint chiefs);
- diplomatic: 외교 (diplomat), 영사 (consul), 준외 / 준영 (quasi-), 국기 (international
  organisation), 협정 (agreement), 대표 (representative);
- region names: the 17 metropolitan cities / provinces (old plates, commercial, construction).
"""
import os

from ppexp.utils.character import CharacterDict

DIGITS = "0123456789"
PRIVATE_HANGUL = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주"
COMMERCIAL_HANGUL = "바사아자"
DELIVERY_HANGUL = "배"
RENTAL_HANGUL = "하허호"
MILITARY_HANGUL = "육해공국합"
REGIONS = (
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종",
    "경기", "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
)
# Old plates (before 2006) predate Sejong City (2012).
OLD_REGIONS = tuple(r for r in REGIONS if r != "세종")
DIPLOMATIC_PREFIXES = ("외교", "영사", "준외", "준영", "국기", "협정", "대표")

PLATE_DICT_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "dicts", "kr_plate_dict.txt",
)


def plate_characters():
    """Every character the generator can emit, in dictionary order (no duplicates)."""
    pools = [DIGITS, PRIVATE_HANGUL, COMMERCIAL_HANGUL, DELIVERY_HANGUL, RENTAL_HANGUL,
             MILITARY_HANGUL, "".join(REGIONS), "".join(DIPLOMATIC_PREFIXES)]
    out = []
    for pool in pools:
        for ch in pool:
            if ch not in out:
                out.append(ch)
    return out


def plate_character_dict(use_space_char=False):
    """The shared ``CharacterDict`` for ``kr_plate_dict.txt``."""
    return CharacterDict(PLATE_DICT_PATH, use_space_char=use_space_char)


def write_plate_dict(path=PLATE_DICT_PATH):
    """(Re)write the dictionary file from the pools; returns the path."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(ch + "\n" for ch in plate_characters()))
    return path
