"""The content library: topics, stored blobs, content items and their LED renditions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, ByteCount, UTCDateTime, utcnow
from server.models.tree import ColourMode


class Topic(Base):
    """主题: what reports count ("36 topics, 1,500 hours"). Managed per street."""

    __tablename__ = "topic"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)


class Blob(Base):
    """A file in the content-addressed store, known to the database."""

    __tablename__ = "blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(ByteCount)
    mime: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentKind(enum.StrEnum):
    image = "image"
    video = "video"
    notice = "notice"  # typed text, rendered per LED size


class ContentStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    archived = "archived"


class ContentItem(Base):
    """An item of the library. Its id is what playlists, schedules and reports name.

    An edit of approved content is a second row, the *pending edit* (`draft_of_id` names
    the live row), with its own file or renditions: the approved row keeps playing, and
    nothing pending reaches a screen because playlists only ever name live rows and a
    pending row is never approved. Approval copies the edit onto the live row and deletes
    it, in one transaction, so terminals see one change straight to the new version and
    the id (and so the reports' counts) stays. A row rather than a version table: a
    pending row is an ordinary item (same renditions, blobs, rendering and checks), where
    a version table would duplicate every column and the renditions' ownership.
    """

    __tablename__ = "content_item"
    __table_args__ = (Index("ix_content_item_scope", "street_id", "community_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    # None: street-wide, shared with every community.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    kind: Mapped[ContentKind] = mapped_column(Enum(ContentKind, native_enum=False, length=10))
    status: Mapped[ContentStatus] = mapped_column(
        Enum(ContentStatus, native_enum=False, length=12), default=ContentStatus.draft
    )
    title: Mapped[str] = mapped_column(String(120))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id"), index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float] = mapped_column(default=10.0)  # on screen, for still items

    # Uploaded media (image/video): the original file and what probing found.
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    original_name: Mapped[str] = mapped_column(String(200), default="")
    mime: Mapped[str] = mapped_column(String(60), default="")
    width: Mapped[int | None]
    height: Mapped[int | None]
    media_duration_s: Mapped[float | None]  # a video's own length
    fps: Mapped[float | None]
    codec: Mapped[str | None] = mapped_column(String(20))
    animated: Mapped[bool] = mapped_column(default=False)
    thumbnail_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))

    # Typed notices: the text; renditions hold the images per LED size.
    notice_title: Mapped[str] = mapped_column(String(80), default="")
    notice_body: Mapped[str] = mapped_column(Text, default="")
    notice_footer: Mapped[str] = mapped_column(String(80), default="")
    notice_template: Mapped[str] = mapped_column(String(20), default="notice")
    # Screen sizes ("128x64-mono") the editor chose to leave out because the text cannot
    # be shown there legibly: they have no renditions, and those screens never get it.
    notice_excluded_sizes: Mapped[list] = mapped_column(JSON, default=list,
                                                        server_default="[]")
    # Text typed for an emergency broadcast: listed with the broadcasts, never in the
    # library, the review queue or a playlist picker (reports still count its play).
    broadcast_text: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Review trail. No author: made by the system (an official warning's card, sent by
    # policy with nobody signed in).
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on a pending edit: the approved item it will replace when approved.
    draft_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_item.id", ondelete="CASCADE"), unique=True)
    # Two-level review: the community marks it for street review too (carried by edits);
    # while submitted, review_stage says which level waits ("community" | "street").
    street_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    review_stage: Mapped[str] = mapped_column(String(10), default="", server_default="")
    community_approved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    community_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Screening (server/screening): words found in its texts and, for images and videos,
    # in the text recognised in them: {"hits": [{"word", "action", "field", "start", "end"}]}.
    screening: Mapped[dict | None] = mapped_column(JSON)
    ocr_state: Mapped[str] = mapped_column(String(8), default="", server_default="",
                                           index=True)  # "" | pending | done | failed
    ocr_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Bumped by every change to what appears on screen.
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    topic: Mapped[Topic] = relationship()
    # The pending edit of this (approved) item, if any.
    pending: Mapped[ContentItem | None] = relationship(
        foreign_keys=[draft_of_id], uselist=False, viewonly=True)
    renditions: Mapped[list[NoticeRendition]] = relationship(
        cascade="all, delete-orphan",
        order_by="(NoticeRendition.width.desc(), NoticeRendition.height, "
        "NoticeRendition.colour_mode, NoticeRendition.page)",
    )

    @property
    def play_seconds(self) -> float:
        """How long one play lasts: a video's own length, else the set duration."""
        if self.kind == ContentKind.video and self.media_duration_s:
            return self.media_duration_s
        return self.duration_s


class NoticeRendition(Base):
    """One page (or scroll strip) of a notice rendered for one LED size and colour mode."""

    __tablename__ = "notice_rendition"
    __table_args__ = (UniqueConstraint("item_id", "width", "height", "colour_mode", "page"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("content_item.id", ondelete="CASCADE"))
    width: Mapped[int]
    height: Mapped[int]
    colour_mode: Mapped[ColourMode] = mapped_column(Enum(ColourMode, native_enum=False, length=8))
    page: Mapped[int] = mapped_column(default=0)
    mode: Mapped[str] = mapped_column(String(8), default="pages")  # pages | scroll
    scroll_speed_px_s: Mapped[float | None]
    font_px: Mapped[int]
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    image_width: Mapped[int]  # a scroll strip is wider than the panel
