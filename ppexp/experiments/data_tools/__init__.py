"""Data tools above the engine: ``lmdb_build`` (``ppexp lmdb``) and ``aug_preview`` (``ppexp aug-preview``)."""
