"""Small preview images (max 320x180, aspect kept) for the admin UI."""

from __future__ import annotations

import io

from PIL import Image

THUMB_MAX = (320, 180)
THUMB_MIME = "image/jpeg"
# Transparent areas are shown on the near-black an LED panel shows when pixels are off.
_MATTE = (16, 16, 16)


def make_thumbnail(im: Image.Image, max_size: tuple[int, int] = THUMB_MAX) -> bytes:
    """Return JPEG bytes of `im` scaled down to fit max_size (never scaled up)."""
    if im.mode in ("P", "PA", "LA", "RGBA", "La") or "transparency" in im.info:
        # Go through RGBA so palette transparency is honoured (and Pillow does not warn).
        rgba = im.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, _MATTE)
        rgb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        rgb = im.convert("RGB")
    rgb.thumbnail(max_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=85, optimize=True)
    return buf.getvalue()
