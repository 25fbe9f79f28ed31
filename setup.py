"""ppexp: PaddleOCR-compatible text-recognition training and experiment tools."""
import os

from setuptools import find_packages, setup


def _paddle_requirement():
    """paddlepaddle (CPU) unless a GPU build is already installed: never replace paddlepaddle-gpu."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        for dist in ("paddlepaddle-gpu", "paddlepaddle"):
            try:
                version(dist)
                return [f"{dist}>=3.0"]
            except PackageNotFoundError:
                continue
    except ImportError:
        pass
    if os.environ.get("PPEXP_NO_PADDLE_DEP"):
        return []
    return ["paddlepaddle>=3.0"]


setup(
    name="ppexp",
    version="0.1.0",
    description="PaddleOCR-compatible text-recognition training and experiment library",
    long_description=open("README.md", encoding="utf-8").read() if os.path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["ppexp", "ppexp.*"]),
    package_data={"ppexp": ["dicts/*.txt", "modeling/csrc/*.cc", "pretrained/*/*.pdparams", "pretrained/*/*.yml",
                            "pretrained/*/*.md"]},
    install_requires=_paddle_requirement() + [
        "pyyaml>=6",
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "rapidfuzz>=3",
        "lmdb>=1.4",
        "visualdl>=2.5",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "pillow>=9",
        "pyclipper>=1.3",  # detection: polygon offsetting (MakeBorderMap, MakeShrinkMap, DBPostProcess)
        "shapely>=2.0",  # detection: polygon area/length and IoU (DetMetric)
        "setuptools",  # paddle's custom-op builder (ppexp/modeling/depthwise.py); not in Python >= 3.12 venvs
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6"],
        "tune": ["optuna>=3.4", "psycopg[binary]>=3.1"],  # ppexp tune (SQLite needs optuna only)
        # PaddleOCR 3 / PaddleX, to deploy an export with TextRecognition (pins numpy < 2.4)
        "deploy": ["paddleocr>=3.7"],
    },
    entry_points={"console_scripts": ["ppexp=ppexp.cli:main"]},
)
