from __future__ import annotations

import pytest

from content import ContentError, sniff_type


@pytest.mark.parametrize(
    ("head", "fmt", "mime"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png", "image/png"),
        (b"GIF89a\x10\x00", "gif", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp", "image/webp"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "mov", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "mkv",
         "video/x-matroska"),
    ],
)
def test_known_signatures(head: bytes, fmt: str, mime: str) -> None:
    got = sniff_type(head)
    assert (got.format, got.mime) == (fmt, mime)


@pytest.mark.parametrize(
    ("head", "detected"),
    [
        (b"\x7fELF\x02\x01\x01", "elf_executable"),
        (b"MZ\x90\x00\x03", "windows_executable"),
        (b"\x00\x00\x00\x1cftypheic", "heif"),
        (b"<svg xmlns=", "text"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "unknown"),
    ],
)
def test_refused_signatures(head: bytes, detected: str) -> None:
    with pytest.raises(ContentError) as exc:
        sniff_type(head)
    assert exc.value.code == "unsupported_type"
    assert exc.value.params["detected"] == detected


def test_empty() -> None:
    with pytest.raises(ContentError) as exc:
        sniff_type(b"")
    assert exc.value.code == "empty_file"
