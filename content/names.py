"""Derive a safe, human display name from an uploaded filename.

The display name is only ever shown to people; it is never used to build a path
(blobs are stored under their sha256).
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 80
FALLBACK_NAME = "untitled"
_WS_RE = re.compile(r"\s+")


def _is_unsafe_char(ch: str) -> bool:
    # Cc: control chars incl. NUL; Cf: format chars such as U+202E (RTL override), which
    # can disguise "gpj.exe" as "exe.jpg"; Cs/Co/Cn: surrogates, private use, unassigned.
    return unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"}


def safe_display_name(filename: str | bytes | None, max_chars: int = MAX_NAME_CHARS) -> str:
    """Strip directories, '..', control/format characters; cap length keeping the extension."""
    if filename is None:
        return FALLBACK_NAME
    if isinstance(filename, bytes):
        filename = filename.decode("utf-8", errors="replace")
    name = unicodedata.normalize("NFC", filename)
    # Tabs/newlines become spaces; every other unsafe character is dropped.
    name = "".join(" " if ch in "\t\r\n" else ch for ch in name if ch in "\t\r\n"
                   or not _is_unsafe_char(ch))
    # Keep only the last path component for both separators.
    name = re.split(r"[/\\]", name)[-1]
    name = name.replace("..", "")
    name = _WS_RE.sub(" ", name).strip(" .")
    if not name:
        return FALLBACK_NAME
    if len(name) > max_chars:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 8 and stem:
            keep = max_chars - len(ext) - 2  # room for "…" and "."
            name = f"{stem[:keep].rstrip()}….{ext}"
        else:
            name = name[: max_chars - 1].rstrip() + "…"
    return name
