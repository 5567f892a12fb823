"""Content handling for the signage manager: uploads (images/videos) and text notices.

Plain Python + Pillow + PyAV + fontTools; no web framework. The server calls:

- `ingest(fileobj, filename, store, limits, examine=...)` -> `IngestedBlob`; `examine_file`
  is its CPU-heavy part (sniff, decode, thumbnail), for a caller to run elsewhere
- `BlobStore(root)` for stored files
- `render_notice(Notice, Target, RenderOptions)` -> `NoticeRender`
- `render_warning(WarningCard, Target, RenderOptions)` -> `NoticeRender` (one full-screen
  page); `render_warning_pngs` is its job function for the server's worker pool

Every refusal is a `ContentError` with a stable `code` (see `ERROR_CODES`) and `params`.
"""

from .blobstore import BlobStore, PendingBlob, validate_sha256
from .errors import ERROR_CODES, ContentError
from .fonts import FontSpec, find_cjk_font, missing_glyphs
from .ingest import Examined, IngestedBlob, Limits, examine_file, ingest
from .names import safe_display_name
from .notice import COLOR_MODES, Notice, NoticeRender, RenderOptions, Target, render_notice
from .sniff import SniffedType, sniff_type
from .themes import TEMPLATES
from .video import ACCEPTED_CODECS
from .warning_card import WarningCard, render_warning, render_warning_pngs

__all__ = [
    "ACCEPTED_CODECS",
    "COLOR_MODES",
    "ERROR_CODES",
    "TEMPLATES",
    "BlobStore",
    "ContentError",
    "Examined",
    "FontSpec",
    "IngestedBlob",
    "Limits",
    "Notice",
    "NoticeRender",
    "PendingBlob",
    "RenderOptions",
    "SniffedType",
    "Target",
    "WarningCard",
    "examine_file",
    "find_cjk_font",
    "ingest",
    "missing_glyphs",
    "render_notice",
    "render_warning",
    "render_warning_pngs",
    "safe_display_name",
    "sniff_type",
    "validate_sha256",
]
