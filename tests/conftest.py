"""Shared pytest fixtures."""
import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PPEXP_SHARED", REPO.parent / "shared"))
_START = time.monotonic()


def pytest_terminal_summary(terminalreporter):
    """The suite's wall time, and how to leave out the slow tests."""
    terminalreporter.write_line(f"suite wall time: {time.monotonic() - _START:.1f} s "
                                "(fast subset: pytest -m 'not slow')")


@pytest.fixture(scope="session")
def shared_dir():
    """../shared beside the checkout; tests needing it skip cleanly when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (user clone); skipping fixture-based test")
    return SHARED


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir):
    path = shared_dir / "fixtures" / "paddleocr"
    if not path.is_dir():
        pytest.skip(f"{path} missing")
    return path
