"""Sample warning messages for tests, with their times and identifiers filled in.

The files in samples/ were written for this project from the CAP 1.2 element names and
the GB/T 35965.1 conventions; none is a real message. They carry placeholders:
{ID}, {SENT} (also used for effective/onset), {EXPIRES}, {REFERENCES} (Update/Cancel) and
{URL}/{BASE} (hostile and feed samples: where a fetch would go).

    sample("typhoon_orange_yantian")                       # sent now, expires in 6 h
    sample("typhoon_red_yantian_update", identifier="x2", references=[("x1", t1)])
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DIR = Path(__file__).with_name("samples")
SHENZHEN = ZoneInfo("Asia/Shanghai")
SENDER = "深圳市气象台"
LIFETIME = timedelta(hours=6)

# Default identifiers, so the update and the cancel name the messages before them when a
# test passes nothing; pass `identifier` for a fresh message.
DEFAULT_IDS = {
    "typhoon_orange_yantian": "SZMB-20260915-TY-0001",
    "typhoon_red_yantian_update": "SZMB-20260915-TY-0002",
    "typhoon_cancel_yantian": "SZMB-20260915-TY-0003",
}
DEFAULT_REFERENCES = {
    "typhoon_red_yantian_update": "typhoon_orange_yantian",
    "typhoon_cancel_yantian": "typhoon_red_yantian_update",
}
HUGE = "huge"  # a valid typhoon alert grown past parse.MAX_BYTES (made, not stored)


def cap_time(t: datetime) -> str:
    """A CAP time: seconds, a numeric offset (Shenzhen's +08:00), never "Z"."""
    if t.tzinfo is None:
        raise ValueError("sample times must be aware")
    return t.astimezone(SHENZHEN).isoformat(timespec="seconds")


def names() -> list[str]:
    return sorted(p.stem for p in DIR.iterdir() if p.suffix in (".xml", ".txt"))


def reference(identifier: str, sent: datetime, sender: str = SENDER) -> str:
    """One CAP reference: "sender,identifier,sent"."""
    return f"{sender},{identifier},{cap_time(sent)}"


def sample(name: str, sent: datetime | None = None, expires: datetime | None = None,
           identifier: str | None = None,
           references: list[tuple[str, datetime]] | None = None,
           base: str = "http://127.0.0.1:9") -> bytes:
    """The sample's bytes with its placeholders filled.

    sent: default now; expires: default sent + 6 h; identifier: default DEFAULT_IDS[name]
    (else "SZMB-<name>"); references: (identifier, sent) pairs, default the message this
    sample follows, sent an hour before this one; base: fills {URL} and {BASE}.
    """
    if name == HUGE:
        return _huge(sent, expires, identifier)
    path = DIR / f"{name}.xml"
    if not path.exists():
        path = DIR / f"{name}.txt"
    text = path.read_text(encoding="utf-8")
    sent = sent or datetime.now(SHENZHEN).replace(microsecond=0)
    expires = expires or sent + LIFETIME
    if references is None and name in DEFAULT_REFERENCES:
        references = [(DEFAULT_IDS[DEFAULT_REFERENCES[name]], sent - timedelta(hours=1))]
    fill = {
        "{ID}": identifier or DEFAULT_IDS.get(name, f"SZMB-{name}"),
        "{SENT}": cap_time(sent),
        "{EXPIRES}": cap_time(expires),
        "{REFERENCES}": " ".join(reference(i, t) for i, t in references or ()),
        "{URL}": base,
        "{BASE}": base,
    }
    for key, value in fill.items():
        text = text.replace(key, value)
    return text.encode("utf-8")


def _huge(sent: datetime | None, expires: datetime | None, identifier: str | None) -> bytes:
    data = sample("typhoon_orange_yantian", sent, expires, identifier or "SZMB-huge")
    filler = "台风橙色预警信号。" * 12_000  # 27 bytes each in UTF-8: about 324 KB
    return data.replace(b"</description>", filler.encode("utf-8") + b"</description>", 1)
