"""Identify a file's type from its first bytes. The filename/extension is never trusted."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ContentError

# Enough to see RIFF/WEBP, the ftyp box and an EBML DocType near the start.
SNIFF_BYTES = 4096

# ISO BMFF brands that are still images (HEIF/AVIF): refused, we only take MP4/MOV video.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


@dataclass(frozen=True)
class SniffedType:
    kind: str  # "image" | "video"
    format: str  # "jpeg" | "png" | "webp" | "gif" | "mp4" | "mov" | "webm" | "mkv"
    mime: str


def _describe(head: bytes) -> str:
    """Short label of common refused types, so the UI can say what was uploaded."""
    if head.startswith(b"\x7fELF"):
        return "elf_executable"
    if head.startswith(b"MZ"):
        return "windows_executable"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith((b"#!", b"<")):
        return "text"
    return "unknown"


def _ebml_doctype(head: bytes) -> bytes | None:
    # DocType element id 0x4282 followed by a 1-byte size vint (0x80 | len) in practice.
    i = head.find(b"\x42\x82", 4, 64)
    if i < 0 or i + 3 > len(head):
        return None
    size_byte = head[i + 2]
    if not size_byte & 0x80:
        return None
    n = size_byte & 0x7F
    return head[i + 3 : i + 3 + n].rstrip(b"\x00")


def sniff_type(head: bytes) -> SniffedType:
    """Return the type of a file given its first bytes; raise ContentError otherwise."""
    if not head:
        raise ContentError("empty_file", "file is empty")
    if head.startswith(b"\xff\xd8\xff"):
        return SniffedType("image", "jpeg", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return SniffedType("image", "png", "image/png")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return SniffedType("image", "gif", "image/gif")
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return SniffedType("image", "webp", "image/webp")
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            raise ContentError(
                "unsupported_type", "HEIF/AVIF still images are not supported",
                detected="heif",
            )
        if brand == b"qt  ":
            return SniffedType("video", "mov", "video/quicktime")
        return SniffedType("video", "mp4", "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if _ebml_doctype(head) == b"webm":
            return SniffedType("video", "webm", "video/webm")
        return SniffedType("video", "mkv", "video/x-matroska")
    detected = _describe(head)
    raise ContentError("unsupported_type", f"unsupported file type ({detected})", detected=detected)
