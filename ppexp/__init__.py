"""ppexp: PaddleOCR-compatible text-recognition training and experiment tools."""
__version__ = "0.1.0"
