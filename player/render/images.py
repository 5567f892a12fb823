"""Pixel helpers shared by the backends: fitting stills, the built-in screen, video frames."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from player.protocol import DARK_MAX_LUMA

log = logging.getLogger(__name__)

# Fonts that can draw Chinese names, tried in order (fonts-wqy-zenhei on Debian).
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
BUILTIN_BG = (16, 32, 80)
BUILTIN_FG = (255, 255, 255)


def fitted_size(src: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`src` scaled to fit inside `box` with its aspect kept."""
    scale = min(box[0] / src[0], box[1] / src[1])
    return max(1, round(src[0] * scale)), max(1, round(src[1] * scale))


def fit(img: Image.Image, size: tuple[int, int],
        bg: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """The image at exactly `size`: untouched if it already matches (LED panels are small and
    a notice is rendered for the exact panel, where any resampling would blur it), otherwise
    scaled to fit with its aspect kept and centred on `bg` (black)."""
    img = img.convert("RGB")
    if img.size == size:
        return img
    w, h = size
    nw, nh = fitted_size(img.size, size)
    out = Image.new("RGB", size, bg)
    out.paste(img.resize((nw, nh), Image.Resampling.LANCZOS), ((w - nw) // 2, (h - nh) // 2))
    return out


def load_image(path: Path, size: tuple[int, int],
               bg: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return fit(im, size, bg)


@lru_cache(maxsize=16)
def outline_font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for p in CJK_FONTS:
        if Path(p).exists():
            try:
                return ImageFont.truetype(p, px)
            except OSError:
                continue
    return ImageFont.load_default(size=px)


def builtin_screen(size: tuple[int, int], title: str, lines: Sequence[str] = ()) -> Image.Image:
    """A plain, always-available screen: the title as large as fits, smaller lines below."""
    w, h = size
    img = Image.new("RGB", size, BUILTIN_BG)
    draw = ImageDraw.Draw(img)
    rows = [title, *lines]
    # Title gets twice the weight of each other line; shrink until the widest row fits.
    px = max(6, int(h / (2 + len(lines)) * 0.8))
    while px > 6:
        sizes = [px] + [max(6, px // 2)] * len(lines)
        widths = [draw.textlength(r, font=outline_font(s)) for r, s in zip(rows, sizes, strict=True)]
        if max(widths) <= w * 0.95 and sum(sizes) * 1.2 <= h:
            break
        px -= 1
    sizes = [px] + [max(6, px // 2)] * len(lines)
    y = (h - sum(sizes) * 1.2) / 2
    for r, s in zip(rows, sizes, strict=True):
        f = outline_font(s)
        draw.text(((w - draw.textlength(r, font=f)) / 2, y), r, font=f, fill=BUILTIN_FG)
        y += s * 1.2
    return img


TICKER_BG = (200, 0, 0)


def ticker_strip(text: str, size: tuple[int, int]) -> Image.Image:
    """An emergency ticker band for a panel of `size`: the text on one line in white on red,
    a quarter of the panel high (at least 12 px), as wide as the text needs."""
    w, h = size
    band = max(12, min(h, h // 4))
    f = outline_font(max(8, int(band * 0.8)))
    one_line = " ".join(text.split())
    width = max(w, int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(one_line, font=f))
                + band)
    img = Image.new("RGB", (width, band), TICKER_BG)
    ImageDraw.Draw(img).text((band // 2, band * 0.1), one_line, font=f, fill=BUILTIN_FG)
    return img


def ticker_offset(strip_width: int, panel_width: int, elapsed_s: float,
                  speed_px_s: float) -> int:
    """Where the strip's left edge is: it enters from the right and leaves on the left."""
    travel = strip_width + panel_width
    return panel_width - int(elapsed_s * speed_px_s) % travel


def load_strip(path: Path, height: int) -> Image.Image:
    """A scroll strip at the panel's height (rendered for it, so normally untouched)."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.height != height:
            im = im.resize((max(1, round(im.width * height / im.height)), height),
                           Image.Resampling.LANCZOS)
        return im


def scroll_frame(strip: Image.Image, size: tuple[int, int], elapsed_s: float,
                 duration_s: float) -> Image.Image:
    """The panel showing a strip that crosses it once in `duration_s`."""
    frame = Image.new("RGB", size)
    speed = (strip.width + size[0]) / max(duration_s, 0.001)
    frame.paste(strip, (ticker_offset(strip.width, size[0], elapsed_s, speed), 0))
    return frame


def video_duration_s(path: Path) -> float | None:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if s.duration is not None and s.time_base is not None:
            return float(s.duration * s.time_base)
        return c.duration / av.time_base if c.duration else None


def video_frame_at(path: Path, offset_s: float) -> Image.Image | None:
    """The frame on screen `offset_s` into the clip (the last one past its end)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        if offset_s > 0 and stream.time_base is not None:
            c.seek(int(offset_s / stream.time_base), stream=stream, backward=True)
        last = None
        for frame in c.decode(stream):
            if frame.time is not None and frame.time > offset_s + 1e-6 and last is not None:
                break
            last = frame
        return last.to_image() if last is not None else None


def describe_frame(img: Image.Image) -> tuple[str, bool]:
    """(SHA-256 of the pixels, nearly black?) for STATUS: how the server tells a frozen or
    black screen (see player.protocol.STATUS). Cheap at LED sizes (a 1920x320 frame in ms)."""
    img = img.convert("RGB")
    brightest = img.convert("L").getextrema()[1]
    return hashlib.sha256(img.tobytes()).hexdigest(), brightest < DARK_MAX_LUMA


def dim(img: Image.Image, percent: int) -> Image.Image:
    if percent >= 100:
        return img
    return ImageEnhance.Brightness(img).enhance(max(0, percent) / 100)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def thumbnail_png(png: bytes, max_side: int = 320) -> bytes:
    with Image.open(io.BytesIO(png)) as im:
        im = im.convert("RGB")
        im.thumbnail((max_side, max_side))
        return png_bytes(im)
