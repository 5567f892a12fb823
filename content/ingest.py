"""The single upload entry point: stream -> examine (sniff, validate, thumbnail) -> commit.

Streaming is I/O; examining decodes pixels and is CPU- and memory-heavy. `examine_file` is
a plain function of the received file's path, so a server can run it in another process
(pass `ingest(..., examine=...)`); by default it runs here, in the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .blobstore import BlobStore, Readable
from .errors import ContentError
from .images import validate_image
from .names import safe_display_name
from .sniff import sniff_type
from .thumbnails import THUMB_MIME
from .video import validate_video


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024 * 1024  # 1 GiB
    max_image_pixels: int = 40_000_000  # Pillow's own hard stop is ~179 MP regardless
    max_animation_frames: int = 2000
    max_video_pixels: int = 8192 * 4352  # 8K
    # Frames x width x height an image may make us decode, checked before decoding. Full-
    # frame GIF decodes at about 90 megapixels a second on one core of the 2-core test box,
    # so 500 MP is ~6 s of work at most (the job limit is 120 s, shared with other jobs).
    # An LED-sized animation passes with room: 2,000 frames of 384x192 are 147 MP, 800
    # frames of a 1920x320 strip 490 MP; 300 frames of 2000x2000 (1,200 MP, 13 s of
    # decoding, which froze the server 17 s when it ran on the event loop) do not.
    max_decode_pixels: int = 500_000_000


@dataclass(frozen=True)
class Examined:
    """What examining a file found: its real type, size, timing and a thumbnail."""

    kind: str  # "image" | "video"
    mime: str
    format: str
    width: int
    height: int
    duration_s: float | None  # video length or animation length; None for stills
    fps: float | None
    codec: str | None
    animated: bool
    frame_count: int | None  # images only
    has_audio: bool
    thumbnail: bytes


@dataclass(frozen=True)
class IngestedBlob:
    sha256: str
    size: int
    kind: str  # "image" | "video"
    mime: str
    format: str
    width: int
    height: int
    duration_s: float | None  # video length or animation length; None for stills
    fps: float | None
    codec: str | None  # video codec ("h264", "hevc", "vp8", "vp9", "av1")
    animated: bool
    frame_count: int | None  # images only
    has_audio: bool
    thumbnail: bytes
    thumbnail_mime: str
    display_name: str


Examiner = Callable[[Path, bytes, Limits], Examined]


def examine_file(path: Path, head: bytes, limits: Limits) -> Examined:
    """Sniff the type from `head` (the file's first bytes), validate the file by decoding
    it and make its thumbnail. Raises ContentError on any refusal; reads, never writes."""
    sniffed = sniff_type(head)
    if sniffed.kind == "image":
        img = validate_image(
            path, sniffed.format, max_pixels=limits.max_image_pixels,
            max_frames=limits.max_animation_frames, head=head,
            max_decode_pixels=limits.max_decode_pixels,
        )
        return Examined(
            kind="image", mime=sniffed.mime, format=sniffed.format, width=img.width,
            height=img.height, duration_s=img.duration_s, fps=None, codec=None,
            animated=img.animated, frame_count=img.frame_count, has_audio=False,
            thumbnail=img.thumbnail,
        )
    vid = validate_video(path, sniffed.format, max_pixels=limits.max_video_pixels)
    return Examined(
        kind="video", mime=sniffed.mime, format=sniffed.format, width=vid.width,
        height=vid.height, duration_s=vid.duration_s, fps=vid.fps, codec=vid.codec,
        animated=False, frame_count=None, has_audio=vid.has_audio, thumbnail=vid.thumbnail,
    )


def ingest(
    fileobj: Readable, filename: str | None, store: BlobStore, limits: Limits | None = None,
    *, examine: Examiner = examine_file,
) -> IngestedBlob:
    """Store an upload if, and only if, it is a valid image or video.

    `examine(path, head, limits)` runs on the received temp file (default: `examine_file`
    in this process). Raises ContentError on any refusal, and whatever `examine` raises;
    then nothing is left on disk (the temp file is removed and an already-present
    identical blob is untouched).
    """
    limits = limits or Limits()
    display_name = safe_display_name(filename)
    with store.ingest_stream(fileobj, limits.max_bytes) as pending:
        if pending.size == 0:
            raise ContentError("empty_file", "file is empty")
        found = examine(pending.tmp_path, pending.head, limits)
        result = IngestedBlob(
            sha256=pending.sha256, size=pending.size, kind=found.kind, mime=found.mime,
            format=found.format, width=found.width, height=found.height,
            duration_s=found.duration_s, fps=found.fps, codec=found.codec,
            animated=found.animated, frame_count=found.frame_count,
            has_audio=found.has_audio, thumbnail=found.thumbnail, thumbnail_mime=THUMB_MIME,
            display_name=display_name,
        )
        pending.commit()
    return result
