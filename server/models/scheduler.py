"""The scheduler's own bookkeeping: who leads, and which period each job last ran for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class SchedulerLease(Base):
    """One row per lease name; its holder runs the jobs until expires_at."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobRun(Base):
    """The last period a job was claimed for: a period is claimed once, whoever leads."""

    __tablename__ = "scheduler_job"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, default=-1)
    ran_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    holder: Mapped[str] = mapped_column(String(120), default="")
