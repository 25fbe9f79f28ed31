"""Heads; importing this package registers them in HEADS."""
from ppexp.modeling.heads.det_db_head import DBHead
from ppexp.modeling.heads.rec_ctc_head import CTCHead

__all__ = ["CTCHead", "DBHead"]
