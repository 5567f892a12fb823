"""Where warnings come from and what to do with them: sources, their policy rules, and the
places a warning's area is matched against (division codes, building positions). Street
administrators manage all of it; every change is audited (a secret never is)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.cap import area, signals
from server.models import Building, Community, Street, WarningRule, WarningSource
from server.services import audit
from server.services.access import Actor
from server.services.errors import N_, Forbidden, Invalid, NotFound

KINDS = ("feed", "webhook")  # "upload" is made once per street by upload_source
ACTIONS = ("auto", "approve", "ignore")
MODES = ("full", "ticker")
UPLOAD_NAME = "手动上传"
MIN_POLL_S, MAX_POLL_S = 15, 24 * 3600
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 30, 24 * 3600
MAX_RULES = 20
_CODE = re.compile(r"\d{6}|\d{9}|\d{12}")
# Names that appear as %(what)s and %(field)s in these messages, listed for Babel.
NOUNS = (N_("warning source"), N_("warning"), N_("url"), N_("receipt_url"))


@dataclass
class SourceIn:
    name: str
    kind: str  # feed | webhook
    url: str = ""
    poll_seconds: int = 60
    receipt_url: str = ""
    enabled: bool = True


@dataclass
class RuleIn:
    event: str  # a key of server.cap.signals.EVENTS, "" for any
    min_level: str  # one of signals.LEVELS
    action: str  # auto | approve | ignore
    mode: str = "full"  # full | ticker
    timeout_s: int | None = None  # approve: sent anyway when it runs out


# Orange and red signals go out at once; yellow waits for staff but goes after 10 minutes;
# blue and white (and a message with no colour) wait for staff, as a ticker.
DEFAULT_RULES = (
    RuleIn("", "orange", "auto", "full"),
    RuleIn("", "yellow", "approve", "full", 600),
    RuleIn("", "white", "approve", "ticker"),
)


def _require_admin(actor: Actor) -> None:
    if not actor.is_street_admin:
        raise Forbidden(N_("Only street administrators manage warning sources and area "
                           "codes."))


def _rule_dict(r: WarningRule | RuleIn) -> dict:
    return {"event": r.event, "min_level": r.min_level, "action": r.action, "mode": r.mode,
            "timeout_s": r.timeout_s}


def _source_dict(src: WarningSource) -> dict:
    return {"name": src.name, "kind": src.kind, "url": src.url, "enabled": src.enabled,
            "poll_seconds": src.poll_seconds, "receipt_url": src.receipt_url}


def list_sources(s: Session, actor: Actor) -> list[WarningSource]:
    _require_admin(actor)
    return list(s.scalars(select(WarningSource).where(WarningSource.street_id == actor.street_id)
                          .order_by(WarningSource.id)))


def get_source(s: Session, actor: Actor, source_id: int) -> WarningSource:
    _require_admin(actor)
    src = s.get(WarningSource, source_id)
    if src is None or src.street_id != actor.street_id:
        raise NotFound(N_("No such %(what)s."), what="warning source")
    return src


def _http_url(value: str, field: str, required: bool) -> str:
    value = (value or "").strip()
    if not value:
        if required:
            raise Invalid(N_("A feed needs the address to fetch."), field=field)
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500:
        raise Invalid(N_("%(field)s must be an http or https address of up to 500 "
                         "characters."), field=field)
    return value


def _check(s: Session, actor: Actor, b: SourceIn, kind: str,
           source_id: int | None = None) -> SourceIn:
    name = (b.name or "").strip()
    if not 1 <= len(name) <= 80:
        raise Invalid(N_("%(field)s must be 1 to %(max)d characters."), field="name", max=80)
    clash = s.scalar(select(WarningSource.id).where(WarningSource.street_id == actor.street_id,
                                                    WarningSource.name == name))
    if clash is not None and clash != source_id:
        raise Invalid(N_("A source named “%(name)s” exists already."), field="name", name=name)
    if kind not in KINDS:
        raise Invalid(N_("A source is a feed or a webhook."), field="kind")
    try:
        poll = int(b.poll_seconds)
    except (TypeError, ValueError):
        poll = 0
    if kind == "feed" and not MIN_POLL_S <= poll <= MAX_POLL_S:
        raise Invalid(N_("Poll every %(min)d to %(max)d seconds."), field="poll_seconds",
                      min=MIN_POLL_S, max=MAX_POLL_S)
    return SourceIn(name=name, kind=kind, url=_http_url(b.url, "url", kind == "feed"),
                    poll_seconds=poll if kind == "feed" else 60,
                    receipt_url=_http_url(b.receipt_url, "receipt_url", False),
                    enabled=bool(b.enabled))


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _rules(rules: list[RuleIn] | tuple[RuleIn, ...]) -> list[WarningRule]:
    if len(rules) > MAX_RULES:
        raise Invalid(N_("At most %(max)d rules."), field="rules", max=MAX_RULES)
    out = []
    for i, r in enumerate(rules):
        event = (r.event or "").strip()
        if event and event not in signals.EVENTS:
            raise Invalid(N_("Unknown warning type “%(event)s”."), field="rules", event=event)
        if r.min_level not in signals.LEVELS:
            raise Invalid(N_("Choose the lowest signal level a rule applies to."),
                          field="rules")
        if r.action not in ACTIONS:
            raise Invalid(N_("A rule sends at once, waits for approval or ignores."),
                          field="rules")
        if r.mode not in MODES:
            raise Invalid(N_("Choose full screen or ticker."), field="rules")
        timeout = r.timeout_s
        if timeout is not None:
            if r.action != "approve":
                raise Invalid(N_("Only a rule that waits for approval has a timeout."),
                              field="rules")
            if not MIN_TIMEOUT_S <= int(timeout) <= MAX_TIMEOUT_S:
                raise Invalid(N_("A timeout is %(min)d to %(max)d seconds."), field="rules",
                              min=MIN_TIMEOUT_S, max=MAX_TIMEOUT_S)
            timeout = int(timeout)
        out.append(WarningRule(position=i, event=event, min_level=r.min_level,
                               action=r.action, mode=r.mode, timeout_s=timeout))
    return out


def create_source(s: Session, actor: Actor, b: SourceIn) -> WarningSource:
    """A feed or a webhook with the default rules. Both get a secret: a webhook's pushes
    are signed with it, and so are the receipts posted back to either."""
    _require_admin(actor)
    b = _check(s, actor, b, b.kind)
    src = WarningSource(street_id=actor.street_id, name=b.name, kind=b.kind, url=b.url,
                        poll_seconds=b.poll_seconds, receipt_url=b.receipt_url,
                        enabled=b.enabled, secret=_new_secret(), rules=_rules(DEFAULT_RULES))
    s.add(src)
    s.flush()
    audit.record(s, actor, "create", "warning_source", src.id, label=src.name,
                 after={**_source_dict(src), "rules": [_rule_dict(r) for r in src.rules]})
    return src


def update_source(s: Session, actor: Actor, source_id: int, b: SourceIn) -> WarningSource:
    """A source keeps its kind; the street's upload source only turns on and off."""
    src = get_source(s, actor, source_id)
    before = _source_dict(src)
    if src.kind == "upload":
        src.enabled = bool(b.enabled)
    else:
        b = _check(s, actor, b, src.kind, src.id)
        src.name, src.url, src.poll_seconds = b.name, b.url, b.poll_seconds
        src.receipt_url, src.enabled = b.receipt_url, b.enabled
        if before["url"] != src.url:  # a new address: its validators mean nothing here
            src.etag = src.last_modified = None
    after = _source_dict(src)
    if after != before:
        audit.record(s, actor, "update", "warning_source", src.id, label=src.name,
                     before=before, after=after)
    return src


def set_rules(s: Session, actor: Actor, source_id: int,
              rules: list[RuleIn]) -> list[WarningRule]:
    src = get_source(s, actor, source_id)
    new = _rules(rules)
    before = [_rule_dict(r) for r in src.rules]
    src.rules.clear()
    s.flush()
    src.rules.extend(new)
    s.flush()
    audit.record(s, actor, "update", "warning_rules", src.id, label=src.name,
                 before={"rules": before}, after={"rules": [_rule_dict(r) for r in new]})
    return list(src.rules)


def rotate_secret(s: Session, actor: Actor, source_id: int) -> str:
    """A new secret (shown once to the admin); the old one stops working at once."""
    src = get_source(s, actor, source_id)
    if src.kind == "upload":
        raise Invalid(N_("Uploads are signed in by staff; they have no secret."), field="id")
    src.secret = _new_secret()
    audit.record(s, actor, "rotate_secret", "warning_source", src.id, label=src.name)
    return src.secret


def upload_source(s: Session, street_id: int) -> WarningSource:
    """The street's source for messages uploaded by staff (made once, default rules)."""
    src = s.scalar(select(WarningSource).where(WarningSource.street_id == street_id,
                                               WarningSource.kind == "upload"))
    if src is None:
        src = WarningSource(street_id=street_id, name=UPLOAD_NAME, kind="upload",
                            rules=_rules(DEFAULT_RULES))
        s.add(src)
        s.flush()
    return src


# --- places warnings are matched against ----------------------------------------------


def _code(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not _CODE.fullmatch(value) or not area.code_prefix(value):
        raise Invalid(N_("A division code is 6 (district), 9 or 12 digits (street, "
                         "community)."), field=field)
    return value


def set_area_codes(s: Session, actor: Actor, street_code: str | None,
                   codes: dict[int, str | None]) -> Street:
    """The street's division code and its communities' (None clears one). A community's
    code must lie inside the street's, so a warning for the street reaches it."""
    _require_admin(actor)
    street = s.get(Street, actor.street_id)
    assert street is not None
    new_street = _code(street_code, "street_code")
    communities = {c.id: c for c in s.scalars(
        select(Community).where(Community.street_id == street.id))}
    changed: dict[str, tuple] = {}
    for community_id, value in codes.items():
        c = communities.get(int(community_id))
        if c is None:
            raise NotFound(N_("No such %(what)s."), what="community")
        code = _code(value, f"community-{c.id}")
        if code != c.area_code:
            changed[c.name] = (c.area_code, code)
            c.area_code = code
    for c in communities.values():  # also those kept, against a changed street code
        if c.area_code and new_street and not area.code_contains(new_street, c.area_code):
            raise Invalid(N_("The code of %(name)s is not inside the street's code."),
                          field=f"community-{c.id}", name=c.name)
    if new_street != street.area_code:
        changed[street.name] = (street.area_code, new_street)
        street.area_code = new_street
    if changed:
        audit.record(s, actor, "update", "area_codes", street.id, label=street.name,
                     before={k: v[0] for k, v in changed.items()},
                     after={k: v[1] for k, v in changed.items()})
    return street


def set_building_position(s: Session, actor: Actor, building_id: int,
                          lat: float | None, lon: float | None) -> Building:
    """WGS 84 degrees (both or neither), for warnings whose area is a polygon or circle."""
    _require_admin(actor)
    b = s.get(Building, building_id)
    if b is None or b.community.street_id != actor.street_id:
        raise NotFound(N_("No such %(what)s."), what="building")
    if (lat is None) != (lon is None):
        raise Invalid(N_("Give both latitude and longitude, or neither."), field="latitude")
    if lat is not None and lon is not None:
        lat, lon = float(lat), float(lon)
        if not -90 <= lat <= 90:
            raise Invalid(N_("Latitude is -90 to 90 degrees."), field="latitude")
        if not -180 <= lon <= 180:
            raise Invalid(N_("Longitude is -180 to 180 degrees."), field="longitude")
    before = {"latitude": b.latitude, "longitude": b.longitude}
    b.latitude, b.longitude = lat, lon
    after = {"latitude": lat, "longitude": lon}
    if after != before:
        audit.record(s, actor, "update", "building_position", b.id, label=b.name,
                     community_id=b.community_id, before=before, after=after)
    return b
