"""The single upload entry point: stream -> sniff -> validate -> thumbnail -> commit."""

from __future__ import annotations

from dataclasses import dataclass

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


def ingest(
    fileobj: Readable, filename: str | None, store: BlobStore, limits: Limits | None = None
) -> IngestedBlob:
    """Store an upload if, and only if, it is a valid image or video.

    Raises ContentError on any refusal; then nothing is left on disk (the temp file is
    removed and an already-present identical blob is untouched).
    """
    limits = limits or Limits()
    display_name = safe_display_name(filename)
    with store.ingest_stream(fileobj, limits.max_bytes) as pending:
        if pending.size == 0:
            raise ContentError("empty_file", "file is empty")
        sniffed = sniff_type(pending.head)
        if sniffed.kind == "image":
            img = validate_image(
                pending.tmp_path, sniffed.format, max_pixels=limits.max_image_pixels,
                max_frames=limits.max_animation_frames, head=pending.head,
            )
            result = IngestedBlob(
                sha256=pending.sha256, size=pending.size, kind="image", mime=sniffed.mime,
                format=sniffed.format, width=img.width, height=img.height,
                duration_s=img.duration_s, fps=None, codec=None, animated=img.animated,
                frame_count=img.frame_count, has_audio=False, thumbnail=img.thumbnail,
                thumbnail_mime=THUMB_MIME, display_name=display_name,
            )
        else:
            vid = validate_video(pending.tmp_path, sniffed.format,
                                 max_pixels=limits.max_video_pixels)
            result = IngestedBlob(
                sha256=pending.sha256, size=pending.size, kind="video", mime=sniffed.mime,
                format=sniffed.format, width=vid.width, height=vid.height,
                duration_s=vid.duration_s, fps=vid.fps, codec=vid.codec, animated=False,
                frame_count=None, has_audio=vid.has_audio, thumbnail=vid.thumbnail,
                thumbnail_mime=THUMB_MIME, display_name=display_name,
            )
        pending.commit()
    return result
