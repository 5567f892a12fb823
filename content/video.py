"""Video validation with PyAV: a decodable video stream in an accepted codec."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from .errors import ContentError
from .thumbnails import make_thumbnail

ACCEPTED_CODECS = ("h264", "hevc", "vp8", "vp9", "av1")
# Give up if no frame comes out of this many packets: the file does not really play.
_MAX_PACKETS_FOR_FIRST_FRAME = 600


@dataclass(frozen=True)
class VideoInfo:
    format: str
    codec: str
    width: int
    height: int
    duration_s: float | None
    fps: float | None
    has_audio: bool
    thumbnail: bytes


def _corrupt(detail: object) -> ContentError:
    return ContentError("corrupt_video", "video cannot be played", detail=str(detail)[:200])


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream
              ) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _fps(stream: av.video.stream.VideoStream) -> float | None:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate
    return round(float(rate), 3) if rate else None


def validate_video(path: Path, fmt: str, *, max_pixels: int) -> VideoInfo:
    """Open with PyAV, check the video stream and decode its first frame."""
    try:
        container = av.open(str(path), mode="r")
    except MemoryError:  # av.error.MemoryError too: the server reports it as such
        raise
    except Exception as exc:  # av.FFmpegError subclasses, plus OSError for odd files
        raise _corrupt(exc) from None
    with container:
        streams = container.streams
        if not streams.video:
            kinds = [f"{s.type}:{s.codec_context.name}" if s.codec_context else s.type
                     for s in streams]
            raise ContentError("no_video_stream", "file has no video stream", streams=kinds)
        stream = streams.video[0]
        ctx = stream.codec_context
        codec = ctx.codec.canonical_name if ctx and ctx.codec else "unknown"
        if codec not in ACCEPTED_CODECS:
            raise ContentError("unsupported_codec", f"video codec {codec} is not accepted",
                               codec=codec, accepted=list(ACCEPTED_CODECS))
        width, height = ctx.width, ctx.height
        if width * height > max_pixels:
            raise ContentError("video_too_many_pixels", "video frame is too large",
                               width=width, height=height, limit_pixels=max_pixels)
        duration = _duration(container, stream)
        fps = _fps(stream)
        frame = None
        try:
            for n, packet in enumerate(container.demux(stream)):
                if n > _MAX_PACKETS_FOR_FIRST_FRAME:
                    break
                frames = packet.decode()
                if frames:
                    frame = frames[0]
                    break
        except MemoryError:
            raise
        except Exception as exc:
            raise _corrupt(exc) from None
        if frame is None:
            raise _corrupt("no frame could be decoded")
        image = frame.to_image()
        return VideoInfo(
            format=fmt,
            codec=codec,
            width=frame.width or width,
            height=frame.height or height,
            duration_s=round(duration, 3) if duration is not None else None,
            fps=fps,
            has_audio=bool(streams.audio),
            thumbnail=make_thumbnail(image),
        )
