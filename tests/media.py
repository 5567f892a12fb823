"""Real media files made in tests: images, animations, video clips, crafted bad files."""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from pathlib import Path

import av
from PIL import Image

from content import BlobStore


def noise_image(w: int, h: int, seed: int = 1) -> Image.Image:
    rnd = random.Random(seed)
    return Image.frombytes("RGB", (w, h), rnd.randbytes(w * h * 3))


def image_bytes(fmt: str, w: int = 640, h: int = 360, seed: int = 1) -> bytes:
    buf = io.BytesIO()
    im = noise_image(w, h, seed)
    if fmt == "PNG":
        im = im.convert("RGBA")
    im.save(buf, fmt)
    return buf.getvalue()


def animated_gif(frames: int = 5, w: int = 120, h: int = 80, duration_ms: int = 100) -> bytes:
    ims = [Image.new("RGB", (w, h), (i * 50 % 256, 0, 255 - i * 50 % 256)) for i in range(frames)]
    buf = io.BytesIO()
    ims[0].save(buf, "GIF", save_all=True, append_images=ims[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def animated_webp(frames: int = 4, w: int = 96, h: int = 64) -> bytes:
    ims = [Image.new("RGB", (w, h), (i * 60, 20, 200)) for i in range(frames)]
    buf = io.BytesIO()
    ims[0].save(buf, "WEBP", save_all=True, append_images=ims[1:], duration=125, loop=0)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG header (valid CRCs) declaring a huge size, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def gif_on_canvas(width: int, height: int, frames: int, *, decodable: bool = True) -> bytes:
    """An animated GIF whose canvas (logical screen) is width x height, written by hand:
    each frame changes one pixel, so a 2000x2000 canvas of hundreds of frames is a few
    kB on disk, yet a decoder composes the whole canvas for every frame. With
    `decodable=False` each frame's LZW data is garbage: any attempt to decode it fails."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0))
    out += bytes((0, 0, 0, 255, 160, 0))  # global colour table: black, amber
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for i in range(frames):
        out += b"\x21\xf9\x04\x04\x04\x00\x00\x00"  # 40 ms, keep the previous frame
        out += b"\x2c" + struct.pack("<HHHHB", i % width, (i // width) % height, 1, 1, 0)
        # LZW, minimum code size 2 (3-bit codes): clear (4), the pixel, end (5).
        codes = 4 | (i % 2) << 3 | 5 << 6
        data = struct.pack("<H", codes) if decodable else b"\xff\xff\xff"
        out += b"\x02" + bytes((len(data),)) + data + b"\x00"
    return bytes(out + b"\x3b")


ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(200)

# (encoder, container format, file suffix, expected codec name)
VIDEO_VARIANTS = [
    ("libx264", "mp4", ".mp4", "h264"),
    ("libx264", "mov", ".mov", "h264"),
    ("libx265", "mp4", ".mp4", "hevc"),
    ("libvpx", "webm", ".webm", "vp8"),
    ("libvpx-vp9", "webm", ".webm", "vp9"),
    ("libsvtav1", "mp4", ".mp4", "av1"),
]


def make_video(path: Path, encoder: str, fmt: str, *, w: int = 160, h: int = 96,
               frames: int = 12, rate: int = 12, audio: bool = False) -> Path:
    try:
        return _make_video(path, encoder, fmt, w, h, frames, rate, audio)
    finally:
        # SVT-AV1's encoder, run as root, leaves the calling thread SCHED_FIFO 99: every
        # server, player and Chromium a test starts afterwards inherited it, and one
        # spinning Chromium held a core for the rest of the run. (Decoding AV1, as the
        # product does, leaves the policy alone.)
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def _make_video(path: Path, encoder: str, fmt: str, w: int, h: int, frames: int, rate: int,
                audio: bool) -> Path:
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(encoder, rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if encoder == "libx265":
            s.options = {"x265-params": "log-level=error"}
        a = c.add_stream("aac", rate=44100) if audio else None
        if a is not None:
            a.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", (w, h), (i * 20 % 256, 90, 200)))
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
        if a is not None:
            _encode_silence(c, a, blocks=12)
    return path


def _encode_silence(c: av.container.OutputContainer, a: av.audio.stream.AudioStream,
                    blocks: int) -> None:
    for i in range(blocks):
        f = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        f.planes[0].update(bytes(4096))
        f.sample_rate, f.pts = 44100, i * 1024
        for p in a.encode(f):
            c.mux(p)
    for p in a.encode():
        c.mux(p)


def audio_only_mp4(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as c:
        a = c.add_stream("aac", rate=44100)
        a.layout = "mono"
        _encode_silence(c, a, blocks=20)
    return path


class CountingStream:
    """An endless byte stream that records how much was read from it."""

    def __init__(self, total: int | None = None, fill: bytes = b"\xab") -> None:
        self.total = total
        self.fill = fill
        self.bytes_read = 0
        self.largest_read = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise AssertionError("unbounded read(): the whole upload would sit in memory")
        if self.total is not None:
            size = min(size, self.total - self.bytes_read)
        self.bytes_read += size
        self.largest_read = max(self.largest_read, size)
        return self.fill * size


def stored_files(store: BlobStore) -> list[Path]:
    """Every file under the store root, temp files included."""
    return sorted(p for p in store.root.rglob("*") if p.is_file())
