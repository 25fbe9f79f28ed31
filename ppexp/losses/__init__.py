"""Losses, registered in LOSSES, and ``build_loss``."""
from ppexp.losses.det_db_loss import DBLoss
from ppexp.losses.rec_ctc_loss import CTCLoss, ctc_min_frames
from ppexp.losses.registry import LOSSES


def build_loss(cfg):
    """Build the loss from the ``Loss`` config section (``{'name': ..., **options}``)."""
    return LOSSES.build(cfg, where="Loss")


__all__ = ["LOSSES", "CTCLoss", "DBLoss", "build_loss", "ctc_min_frames"]
