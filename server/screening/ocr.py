"""Text recognised in images and video keyframes, with Tesseract (chi_sim+eng).

LED content is drawn for small panels and big text, which Tesseract reads badly as it
comes: on a rendered 1920×320 notice (84 px characters) it read the first line as Latin
garbage. What works, measured on rendered notices at 1920×320 and 384×192: greyscale,
light-on-dark turned dark-on-light, each row of text cut out and scaled to ~32 px high,
the rows stacked into one image and read as one block (one Tesseract run per image,
which is most of the cost: loading the Chinese model takes about a second).

Runs in a job worker (server/services/screening.ocr_pending), never in the web worker.
"""

from __future__ import annotations

from pathlib import Path

import pytesseract
from PIL import Image, ImageOps, ImageStat

LANG = "chi_sim+eng"
TEXT_PX = 32  # row height Tesseract is given (text about 28 px high)
MIN_ROW_PX = 6  # an ink run thinner than this is a rule or noise, not a text row
MAX_FACTOR = 4.0
KEYFRAMES = 5
TIMEOUT_S = 60


def _rows(g: Image.Image, ink: int = 128) -> list[tuple[int, int]]:
    """Runs of pixel rows that hold dark pixels (text on a light ground)."""
    small = g.point(lambda v: 255 if v < ink else 0)  # ink lit, for getbbox per row
    out: list[tuple[int, int]] = []
    start = None
    for y in range(g.height + 1):
        dark = y < g.height and small.crop((0, y, g.width, y + 1)).getbbox() is not None
        if dark and start is None:
            start = y
        elif not dark and start is not None:
            if y - start >= MIN_ROW_PX:
                out.append((start, y))
            start = None
    return out


def prepare(im: Image.Image) -> Image.Image:
    """The image as Tesseract reads it best: dark text rows of ~TEXT_PX on white."""
    g = ImageOps.grayscale(im.convert("RGB"))
    if ImageStat.Stat(g).mean[0] < 128:  # LED content: light text on a dark ground
        g = ImageOps.invert(g)
    g = ImageOps.autocontrast(g)
    strips = []
    for top, bottom in _rows(g) or [(0, g.height)]:
        strip = g.crop((0, max(0, top - 2), g.width, min(g.height, bottom + 2)))
        f = min(MAX_FACTOR, TEXT_PX / strip.height)
        strip = strip.resize((max(1, round(strip.width * f)), max(1, round(strip.height * f))),
                             Image.Resampling.LANCZOS)
        strips.append(ImageOps.expand(strip, border=16, fill=255))
    out = Image.new("L", (max(s.width for s in strips), sum(s.height for s in strips)), 255)
    y = 0
    for s in strips:
        out.paste(s, (0, y))
        y += s.height
    return out


def read_image(im: Image.Image) -> str:
    """The text in one picture (raises pytesseract's errors: TesseractNotFoundError...)."""
    text = pytesseract.image_to_string(prepare(im), lang=LANG, config="--psm 6",
                                       timeout=TIMEOUT_S)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def keyframes(path: Path, n: int = KEYFRAMES) -> list[Image.Image]:
    """Up to `n` frames evenly spaced through a video (the first frame after each seek)."""
    import av

    out: list[Image.Image] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = (float(stream.duration * stream.time_base)
                    if stream.duration is not None and stream.time_base is not None
                    else (container.duration or 0) / av.time_base)
        for i in range(n):
            at = duration * (i + 0.5) / n
            if stream.time_base is not None:
                container.seek(int(at / stream.time_base), stream=stream, any_frame=False)
            frame = next(container.decode(stream), None)
            if frame is not None:
                out.append(frame.to_image())
            if duration <= 0:
                break
    return out


def read_file(path: Path, kind: str) -> str:
    """The text in an image file (its first frame) or a video's keyframes, deduplicated
    (a still title card reads the same in every keyframe)."""
    if kind == "video":
        frames = keyframes(path)
    else:
        with Image.open(path) as im:
            frames = [im.copy()]
    texts = [read_image(f) for f in frames]
    return "\n".join(dict.fromkeys(t for t in texts if t))
