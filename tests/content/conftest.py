from __future__ import annotations

from pathlib import Path

import pytest

from content import BlobStore, find_cjk_font
from content.fonts import FontSpec


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs", fsync=False)


@pytest.fixture(scope="session")
def cjk_font() -> FontSpec:
    try:
        return find_cjk_font()
    except Exception as exc:  # fail loudly: a skipped notice test would hide a broken box
        pytest.fail(
            "No CJK font found for notice tests. Install fonts-wqy-zenhei "
            f"(apt-get install fonts-wqy-zenhei) or set SIGNAGE_FONT. ({exc})"
        )
