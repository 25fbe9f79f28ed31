"""Necks; importing this package registers them in NECKS."""
from ppexp.modeling.necks.db_fpn import DBFPN, LKPAN, RSEFPN
from ppexp.modeling.necks.rnn import SequenceEncoder

__all__ = ["DBFPN", "LKPAN", "RSEFPN", "SequenceEncoder"]
