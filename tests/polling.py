"""Waiting for something another process or thread does (no speed is asserted)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(cond: Callable[[], Any], timeout_s: float = 30.0) -> bool:
    """Poll until cond() is true; False on timeout, for the test to assert."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())
