"""ShrinkLarge: a crop taller than max_height is shrunk to it by area averaging (no aliasing), others kept."""
import cv2
import numpy as np

from ppexp.data.imaug.shrink import ShrinkLarge


def test_a_large_crop_is_shrunk_to_max_height_keeping_its_aspect():
    img = np.zeros((350, 700, 3), np.uint8)
    out = ShrinkLarge(max_height=64)({"image": img})["image"]
    assert out.shape == (64, 128, 3)


def test_small_crops_are_left_untouched():
    img = np.zeros((64, 200, 3), np.uint8)
    assert ShrinkLarge(max_height=64)({"image": img})["image"] is img


def test_thin_strokes_survive_where_a_bilinear_shrink_drops_them():
    """1-px dark strokes every 5 columns, shrunk 5x, at each of the 5 phases: area averaging keeps every
    stroke as a grey column (the ink is kept); a bilinear shrink samples one column in five and loses all of
    the ink at 4 phases of 5 (at the fifth it keeps strokes at full darkness: aliasing both ways)."""
    lost = 0
    for phase in range(5):
        img = np.full((320, 500), 255, np.uint8)
        img[:, phase::5] = 0
        ink = 255 - img.astype(np.float32).mean()
        area = ShrinkLarge(max_height=64)({"image": img})["image"].astype(np.float32)
        assert abs((255 - area.mean()) - ink) < 2.0, phase
        bilinear = cv2.resize(img, (100, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        lost += (255 - bilinear.mean()) < 0.5 * ink
    assert lost >= 4


def test_the_default_is_the_generators_crop_height():
    from ppexp.experiments.synth.render import DEFAULT_HEIGHT

    assert ShrinkLarge().max_height == DEFAULT_HEIGHT
