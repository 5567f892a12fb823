"""Layouts as staff store them: named regions on a reference canvas.

Their meaning (checks, fitting to a panel) lives in playlists/layouts.py; this table only
holds the drawing. `regions` is a JSON list of dicts: key, role, x, y, w, h, fg, bg, and
for a ticker content_ids (text notices, in order), speed_cps, direction; for a clock
clock_format; for an image content_id. server/services/layouts.py turns a row into a
playlists.layouts.Layout with the content filled in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class Layout(Base):
    __tablename__ = "layout"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    # None: street-wide, like playlists.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    overlay: Mapped[bool] = mapped_column(default=False)  # drawn over whatever plays
    width: Mapped[int]  # the reference canvas, px
    height: Mapped[int]
    regions: Mapped[list] = mapped_column(JSON, default=list)
    # Main-region sizes ("320x128-full", content.size_key) for which the notices of the
    # layout's scope have been rendered (the renditions chore renders the others).
    rendered_sizes: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
