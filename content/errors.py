"""The single exception type raised by content/, with stable machine-readable codes."""

from __future__ import annotations

from typing import Any

# Stable codes: the server maps these to UI strings (zh-CN first). Never rename one;
# add new codes instead. The value is a short English explanation for logs/docs.
ERROR_CODES: dict[str, str] = {
    "empty_file": "The upload contains no bytes.",
    "too_large": "The upload exceeds the size limit (params: limit_bytes, received_bytes).",
    "unsupported_type": "The bytes are not a supported image/video format (params: detected).",
    "corrupt_image": "The image cannot be decoded (params: format, detail).",
    "image_too_many_pixels": "Image pixel count over limit (params: width, height, pixels, "
    "limit_pixels).",
    "image_too_many_frames": "Animation has too many frames (params: frames, limit_frames).",
    "image_over_decode_budget": "Frames x width x height over the decode budget, refused "
    "before decoding (params: frames, width, height, pixels, limit_pixels).",
    "no_video_stream": "The container has no video stream (params: streams).",
    "corrupt_video": "The video cannot be opened or no frame decodes (params: detail).",
    "video_too_many_pixels": "Video frame size over limit (params: width, height, "
    "limit_pixels).",
    "unsupported_codec": "Video codec not accepted (params: codec, accepted).",
    "invalid_sha256": "A blob id is not 64 lowercase hex characters.",
    "blob_not_found": "No blob with that sha256 in the store (params: sha256).",
    "notice_empty_body": "The notice body is empty or only whitespace.",
    "notice_missing_glyphs": "The font cannot draw some characters (params: characters, "
    "codepoints, font).",
    "notice_does_not_fit": "The notice cannot fit the panel at the minimum legible size "
    "(params: width, height, min_font_px, reason).",
    "no_cjk_font": "No font covering Chinese was found (params: searched).",
    "invalid_target": "The target panel size or colour mode is invalid (params: width, height, "
    "color_mode).",
    "invalid_template": "Unknown notice template (params: template, accepted).",
}


class ContentError(Exception):
    """Raised for every refusal in content/.

    `code` is a stable identifier from ERROR_CODES; `params` carries the numbers and
    characters a person needs to act (limits, actual sizes, offending characters).
    """

    def __init__(self, code: str, message: str, **params: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown ContentError code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.params: dict[str, Any] = params

    def __reduce__(self) -> tuple:
        # Pickled whole (code, message, params): the server examines uploads in worker
        # processes and the refusal must come back as it was raised. The default would
        # call ContentError(str(self)) and fail for want of `message`.
        return _rebuild, (type(self), self.args), self.__dict__

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for API responses."""
        return {"code": self.code, "message": self.message, "params": self.params}


def _rebuild(cls: type[ContentError], args: tuple) -> ContentError:
    return cls.__new__(cls, *args)  # the state (code, message, params) is set by pickle
