from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from content import BlobStore, ContentError, Limits, examine_file, ingest
from tests.media import (
    ELF_BYTES,
    CountingStream,
    animated_gif,
    animated_webp,
    gif_on_canvas,
    image_bytes,
    png_declaring,
    stored_files,
)


def _refused(store: BlobStore, data: bytes, name: str, limits: Limits | None = None
             ) -> ContentError:
    with pytest.raises(ContentError) as exc:
        ingest(io.BytesIO(data), name, store, limits)
    assert stored_files(store) == [], "a refused upload left files behind"
    return exc.value


def _thumb_ok(data: bytes, w: int, h: int) -> None:
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "JPEG"
    assert thumb.width <= 320 and thumb.height <= 180
    assert abs(thumb.width / thumb.height - w / h) < 0.05  # aspect kept


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
     ("GIF", "image/gif")],
)
def test_still_images_accepted(store: BlobStore, fmt: str, mime: str) -> None:
    data = image_bytes(fmt, 640, 360)
    blob = ingest(io.BytesIO(data), f"poster.{fmt.lower()}", store)
    assert (blob.kind, blob.mime, blob.width, blob.height) == ("image", mime, 640, 360)
    assert blob.animated is False and blob.duration_s is None and blob.frame_count == 1
    assert blob.size == len(data)
    assert store.path(blob.sha256).read_bytes() == data
    _thumb_ok(blob.thumbnail, 640, 360)


def test_animated_gif(store: BlobStore) -> None:
    blob = ingest(io.BytesIO(animated_gif(frames=5, duration_ms=100)), "anim.gif", store)
    assert blob.mime == "image/gif" and blob.animated is True
    assert blob.frame_count == 5
    assert blob.duration_s == pytest.approx(0.5)
    _thumb_ok(blob.thumbnail, 120, 80)


def test_animated_webp(store: BlobStore) -> None:
    blob = ingest(io.BytesIO(animated_webp(frames=4)), "anim.webp", store)
    assert blob.animated is True and blob.frame_count == 4
    assert blob.duration_s == pytest.approx(0.5)


def test_type_comes_from_bytes_not_extension(store: BlobStore) -> None:
    blob = ingest(io.BytesIO(image_bytes("PNG", 64, 32)), "photo.jpg", store)
    assert blob.mime == "image/png"


def test_tall_image_thumbnail_keeps_aspect(store: BlobStore) -> None:
    blob = ingest(io.BytesIO(image_bytes("JPEG", 300, 900)), "tall.jpg", store)
    thumb = Image.open(io.BytesIO(blob.thumbnail))
    assert thumb.height == 180 and thumb.width == 60


def test_identical_uploads_are_stored_once(store: BlobStore) -> None:
    data = image_bytes("JPEG", 200, 100)
    a = ingest(io.BytesIO(data), "a.jpg", store)
    b = ingest(io.BytesIO(data), "copy of a.jpg", store)
    assert a.sha256 == b.sha256
    assert b.display_name == "copy of a.jpg"
    assert stored_files(store) == [store.path(a.sha256)]


def test_refused_duplicate_does_not_touch_stored_copy(store: BlobStore) -> None:
    data = image_bytes("JPEG", 200, 100)
    blob = ingest(io.BytesIO(data), "a.jpg", store)
    # Same bytes but now over a smaller size limit: refused, existing blob stays.
    with pytest.raises(ContentError):
        ingest(io.BytesIO(data), "a.jpg", store, Limits(max_bytes=10))
    assert stored_files(store) == [store.path(blob.sha256)]


def test_zero_byte_file(store: BlobStore) -> None:
    assert _refused(store, b"", "empty.jpg").code == "empty_file"


def test_truncated_jpeg(store: BlobStore) -> None:
    data = image_bytes("JPEG", 640, 480)
    err = _refused(store, data[: len(data) // 2], "cut.jpg")
    assert err.code == "corrupt_image"
    assert err.params["format"] == "jpeg"


def test_png_bomb_50000_square(store: BlobStore) -> None:
    err = _refused(store, png_declaring(50_000, 50_000), "bomb.png")
    assert err.code == "image_too_many_pixels"
    assert err.params["width"] == 50_000 and err.params["height"] == 50_000
    assert err.params["pixels"] == 2_500_000_000
    assert err.params["limit_pixels"] == 40_000_000


def test_png_over_our_limit_but_under_pillows(store: BlobStore) -> None:
    # 100 MP: Pillow only warns (an error under pytest); we refuse with our own code.
    err = _refused(store, png_declaring(10_000, 10_000), "big.png")
    assert err.code == "image_too_many_pixels"
    err = _refused(store, png_declaring(8_000, 6_000), "48mp.png")
    assert (err.code, err.params["pixels"]) == ("image_too_many_pixels", 48_000_000)


def test_pixel_limit_is_configurable(store: BlobStore) -> None:
    err = _refused(store, image_bytes("PNG", 300, 200), "a.png", Limits(max_image_pixels=50_000))
    assert err.code == "image_too_many_pixels"
    assert err.params == {"width": 300, "height": 200, "pixels": 60_000,
                          "limit_pixels": 50_000}


def test_animation_over_the_decode_budget_is_refused_before_decoding(store: BlobStore) -> None:
    # 126 frames on a 2000x2000 canvas: 504 megapixels to decode, over the default 500.
    # Every frame's data is garbage: had anything been decoded, it would be corrupt_image.
    data = gif_on_canvas(2000, 2000, 126, decodable=False)
    assert len(data) < 10_000
    err = _refused(store, data, "big.gif")
    assert err.code == "image_over_decode_budget"
    assert err.params == {"frames": 126, "width": 2000, "height": 2000,
                          "pixels": 504_000_000, "limit_pixels": 500_000_000}


def test_the_same_garbage_under_the_budget_is_decoded_and_refused_as_damaged(
        store: BlobStore) -> None:
    err = _refused(store, gif_on_canvas(2000, 2000, 124, decodable=False), "big.gif")
    assert err.code == "corrupt_image"


def test_an_led_sized_animation_fits_the_default_decode_budget(store: BlobStore) -> None:
    blob = ingest(io.BytesIO(gif_on_canvas(384, 192, 2000)), "ticker.gif", store)
    assert (blob.width, blob.height, blob.frame_count, blob.animated) == (384, 192, 2000, True)
    assert blob.duration_s == pytest.approx(80.0)


def test_decode_budget_is_configurable(store: BlobStore) -> None:
    err = _refused(store, animated_gif(frames=5, w=120, h=80), "anim.gif",
                   Limits(max_decode_pixels=40_000))
    assert (err.code, err.params["pixels"]) == ("image_over_decode_budget", 48_000)


def test_examining_is_injected_and_gets_the_received_file(store: BlobStore) -> None:
    seen = []

    def elsewhere(path: Path, head: bytes, limits: Limits):
        seen.append((path.read_bytes()[:len(head)] == head, path.parent == store.tmp_dir))
        return examine_file(path, head, limits)

    blob = ingest(io.BytesIO(image_bytes("JPEG", 64, 32)), "a.jpg", store, examine=elsewhere)
    assert seen == [(True, True)] and blob.width == 64


def test_a_failing_examiner_leaves_nothing_on_disk(store: BlobStore) -> None:
    class WorkerDied(Exception):
        pass

    def dies(path: Path, head: bytes, limits: Limits):
        raise WorkerDied

    with pytest.raises(WorkerDied):
        ingest(io.BytesIO(image_bytes("JPEG", 64, 32)), "a.jpg", store, examine=dies)
    assert stored_files(store) == []


def test_elf_renamed_jpg(store: BlobStore) -> None:
    err = _refused(store, ELF_BYTES, "cute-cat.jpg")
    assert err.code == "unsupported_type"
    assert err.params["detected"] == "elf_executable"


@pytest.mark.parametrize("data", [b"MZ\x90\x00" + bytes(100), b"%PDF-1.7\n", b"hello world"])
def test_other_types_refused(store: BlobStore, data: bytes) -> None:
    assert _refused(store, data, "x.png").code == "unsupported_type"


def test_over_size_limit_stops_reading(store: BlobStore) -> None:
    stream = CountingStream(total=50 * 1024 * 1024, fill=b"\xff")
    limit = 2 * 1024 * 1024
    with pytest.raises(ContentError) as exc:
        ingest(stream, "huge.jpg", store, Limits(max_bytes=limit))
    assert exc.value.code == "too_large"
    assert exc.value.params == {"limit_bytes": limit, "received_bytes": limit + 1}
    assert stream.bytes_read == limit + 1
    assert stored_files(store) == []


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("../../etc/cron.d/x.png", "x.png"), ("a\x00b.png", "ab.png")],
)
def test_hostile_filenames(store: BlobStore, filename: str, expected: str) -> None:
    blob = ingest(io.BytesIO(image_bytes("PNG", 32, 32)), filename, store)
    assert blob.display_name == expected
    # The name never reaches the filesystem: only <root>/ab/cd/<sha256> exists.
    assert [p.name for p in stored_files(store)] == [blob.sha256]


def test_300_character_chinese_filename(store: BlobStore) -> None:
    blob = ingest(io.BytesIO(image_bytes("JPEG", 32, 32)), "通" * 300 + ".jpg", store)
    assert 0 < len(blob.display_name) <= 80 and blob.display_name.endswith(".jpg")


def test_ingest_from_real_file(store: BlobStore, tmp_path: Path) -> None:
    path = tmp_path / "photo.webp"
    path.write_bytes(image_bytes("WEBP", 100, 50))
    with path.open("rb") as fh:
        blob = ingest(fh, path.name, store)
    assert blob.mime == "image/webp" and (blob.width, blob.height) == (100, 50)
