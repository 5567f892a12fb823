"""The server's own availability: which processes are up, and when the server was away.

Terminal health is judged against these (server/services/nodes.py): a terminal is silent
only for time its server was up and listening, and a server that was down or stalled
raises one event about itself instead of an alert for every screen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class ServerNode(Base):
    """One server process (a gunicorn worker, SIGNAGE_NODE_NAME): it says it is alive every
    few seconds (seen_at); available_since is when it last came up or back from a stall."""

    __tablename__ = "server_node"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_since: Mapped[datetime] = mapped_column(UTCDateTime)


class ServerEvent(Base):
    """The whole server down (no process alive), or one process stalled, from .. to."""

    __tablename__ = "server_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # down | stalled
    node: Mapped[str] = mapped_column(String(120), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(Text, default="")
