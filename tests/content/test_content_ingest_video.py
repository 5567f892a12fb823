from __future__ import annotations

import io
import os
from pathlib import Path

import av
import pytest
from PIL import Image

from content import ACCEPTED_CODECS, BlobStore, ContentError, ingest
from tests.media import VIDEO_VARIANTS, audio_only_mp4, make_video, stored_files

_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}


def test_installed_pyav_has_the_encoders_these_tests_use() -> None:
    # Guards against silently testing fewer codecs if the av wheel changes.
    for encoder, *_ in VIDEO_VARIANTS:
        av.Codec(encoder, "w")


@pytest.mark.parametrize(("encoder", "fmt", "suffix", "codec"), VIDEO_VARIANTS,
                         ids=[f"{v[3]}-{v[1]}" for v in VIDEO_VARIANTS])
def test_video_accepted(store: BlobStore, tmp_path: Path, encoder: str, fmt: str, suffix: str,
                        codec: str) -> None:
    path = make_video(tmp_path / f"clip{suffix}", encoder, fmt, w=160, h=96, frames=12, rate=12)
    with path.open("rb") as fh:
        blob = ingest(fh, path.name, store)
    assert blob.kind == "video" and blob.mime == _MIME[fmt]
    assert blob.codec == codec and codec in ACCEPTED_CODECS
    assert (blob.width, blob.height) == (160, 96)
    assert blob.fps == pytest.approx(12.0)
    assert blob.duration_s == pytest.approx(1.0, abs=0.1)
    assert blob.has_audio is False
    thumb = Image.open(io.BytesIO(blob.thumbnail))
    assert thumb.size == (160, 96)  # already within 320x180: never upscaled
    # The thumbnail is a decoded frame: frame 0 was drawn as (0, 90, 200).
    r, g, b = thumb.convert("RGB").getpixel((80, 48))
    assert abs(r - 0) < 25 and abs(g - 90) < 25 and abs(b - 200) < 25
    assert store.path(blob.sha256).read_bytes() == path.read_bytes()


def test_video_with_audio_is_flagged(store: BlobStore, tmp_path: Path) -> None:
    path = make_video(tmp_path / "av.mp4", "libx264", "mp4", audio=True)
    blob = ingest(io.BytesIO(path.read_bytes()), "av.mp4", store)
    assert blob.codec == "h264" and blob.has_audio is True


def test_large_video_thumbnail_is_bounded(store: BlobStore, tmp_path: Path) -> None:
    path = make_video(tmp_path / "hd.mp4", "libx264", "mp4", w=1280, h=720, frames=3)
    blob = ingest(io.BytesIO(path.read_bytes()), "hd.mp4", store)
    assert Image.open(io.BytesIO(blob.thumbnail)).size == (320, 180)


def test_audio_only_mp4_refused(store: BlobStore, tmp_path: Path) -> None:
    path = audio_only_mp4(tmp_path / "song.mp4")
    with pytest.raises(ContentError) as exc:
        ingest(io.BytesIO(path.read_bytes()), "song.mp4", store)
    assert exc.value.code == "no_video_stream"
    assert exc.value.params["streams"] == ["audio:aac"]
    assert stored_files(store) == []


def test_corrupt_mp4_header_refused(store: BlobStore, tmp_path: Path) -> None:
    good = make_video(tmp_path / "ok.mp4", "libx264", "mp4").read_bytes()
    ftyp_len = int.from_bytes(good[:4], "big")
    # Keep a valid ftyp (so it sniffs as MP4) and replace everything after it with noise.
    bad = good[:ftyp_len] + os.urandom(len(good) - ftyp_len)
    with pytest.raises(ContentError) as exc:
        ingest(io.BytesIO(bad), "broken.mp4", store)
    assert exc.value.code == "corrupt_video"
    assert stored_files(store) == []


def test_truncated_mp4_refused(store: BlobStore, tmp_path: Path) -> None:
    good = make_video(tmp_path / "ok.mp4", "libx264", "mp4").read_bytes()
    with pytest.raises(ContentError) as exc:
        ingest(io.BytesIO(good[:64]), "cut.mp4", store)
    assert exc.value.code == "corrupt_video"
    assert stored_files(store) == []


def test_unaccepted_codec_refused(store: BlobStore, tmp_path: Path) -> None:
    path = make_video(tmp_path / "old.mp4", "mpeg4", "mp4")
    with pytest.raises(ContentError) as exc:
        ingest(io.BytesIO(path.read_bytes()), "old.mp4", store)
    assert exc.value.code == "unsupported_codec"
    assert exc.value.params == {"codec": "mpeg4", "accepted": list(ACCEPTED_CODECS)}
    assert stored_files(store) == []
