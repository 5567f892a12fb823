"""The audit log and command history in words a street office reads: each stored action,
object, field and value (enum names, ids, target lists such as [['terminal', 69, None]])
becomes a phrase in the reader's language, with names in place of ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import (
    AuditEntry,
    Building,
    Community,
    ContentItem,
    Layout,
    Playlist,
    Street,
    Terminal,
    Topic,
)
from server.web import warning_present
from server.web.forms import ROLE_LABELS
from server.web.layout_present import regions_summary

ACTIONS = {
    "create": _l("created"), "update": _l("changed"), "delete": _l("deleted"),
    "login": _l("signed in"), "revoke": _l("revoked"), "submit": _l("submitted for review"),
    "approved": _l("approved"), "rejected": _l("rejected"), "archived": _l("archived"),
    "draft": _l("returned to draft"), "broadcast": _l("sent a broadcast"),
    "cancel": _l("cancelled"), "provision": _l("issued a credential"),
    "pair": _l("paired"), "command": _l("sent a command"),
    "discard": _l("discarded the edit waiting for review"),
    "approve_level": _l("approved at the first level"),
    "approve": _l("gave the second approval"),
    "refuse": _l("refused"), "broadcast_pending": _l("sent a broadcast for a second approval"),
    "rotate": _l("rotated"), "rekey": _l("replaced in an emergency"),
    "import": _l("imported"), "purge": _l("purged by retention"),
}
OBJECTS = {
    "community": _l("community"), "building": _l("building"), "terminal": _l("terminal"),
    "user": _l("user"), "token": _l("API token"), "content": _l("content"),
    "topic": _l("topic"), "playlist": _l("playlist"), "schedule": _l("schedule"),
    "screen_plan": _l("screen plan"), "broadcast": _l("emergency broadcast"),
    "alert_template": _l("broadcast template"), "street": _l("street"),
    "layout": _l("layout"), "signing_key": _l("signing key"),
    "escalation_period": _l("escalated-review period"), "screening_word": _l("screening word"),
    "log_chain": _l("log chain"), "mandate": _l("mandate"),
}
# What the log's filter offers: the kinds above and those the warning services record.
FILTER_ACTIONS = {**ACTIONS, **{k: _l(v) for k, v in warning_present.AUDIT_ACTIONS.items()
                                if k not in ACTIONS}}
FILTER_OBJECTS = {**OBJECTS, **{k: _l(v) for k, v in warning_present.AUDIT_OBJECTS.items()}}
FIELDS = {
    "name": _l("Name"), "title": _l("Title"), "username": _l("User name"),
    "display_name": _l("Display name"), "role": _l("Role"), "community_id": _l("Community"),
    "active": _l("Active"), "status": _l("Status"), "topic_id": _l("Topic"),
    "valid_from": _l("Valid from"), "valid_until": _l("Valid until"),
    "duration_s": _l("Seconds on screen"), "tags": _l("Tags"), "revision": _l("Version"),
    "file": _l("File"), "sha256": _l("File fingerprint"), "notice_body": _l("Text"),
    "address": _l("Address"), "location": _l("Location"), "width": _l("Width (pixels)"),
    "height": _l("Height (pixels)"), "colour_mode": _l("Colour"), "building_id": _l("Building"),
    "content_id": _l("Content"), "playlist_id": _l("Playlist"), "mode": _l("Shown as"),
    "reason": _l("Reason"), "targets": _l("Where"), "ends_at": _l("Ends"),
    "authority": _l("Required by"), "share_kind": _l("Share"), "share": _l("How much"),
    "window": _l("Daily window"), "content_ids": _l("Items"), "enforce": _l("Enforced"),
    "terminals": _l("Screens"), "entries": _l("Items"), "kind": _l("Kind"),
    "start_date": _l("Start date"), "end_date": _l("End date"),
    "weekdays": _l("Days of the week"), "windows": _l("Daily time windows"),
    "priority": _l("Priority"), "on": _l("Screen"), "brightness": _l("Brightness (%)"),
    "level": _l("Brightness (%)"), "password": _l("Password"),
    "sessions_ended": _l("Sign-ins ended"), "tokens_revoked": _l("API tokens revoked"),
    "may_broadcast": _l("May send emergency broadcasts"),
    "pending_edit": _l("Concerns the edit waiting for review (the approved version plays on)"),
    "layout_id": _l("Layout"), "overlay": _l("Overlay"), "regions": _l("Regions"),
    "key_id": _l("Key"), "endorsed_by": _l("Endorsed by key"), "first": _l("First key"),
    "emergency": _l("Emergency re-key"),
    "screens_must_pair_again": _l("Screens must be paired again"),
    "signatures_enforced": _l("Signatures enforced"),
    "starts_on": _l("First day"), "ends_on": _l("Last day"), "community_ids": _l("Communities"),
    "word": _l("Word"), "action": _l("Action"), "note": _l("Note"), "added": _l("Added"),
    "changed": _l("Changed"), "approval": _l("Second approval"), "sender": _l("Sent by"),
    "review_level": _l("Review level"), "next": _l("Next level"),
    "needed": _l("Levels needed"), "street_review": _l("Street review"),
    "chain": _l("Chain"), "from_seq": _l("From entry"), "through_seq": _l("Through entry"),
    "last_hash": _l("Last removed hash"), "rows": _l("Rows"), "play_chain": _l("Play chain"),
}
WORDS = {  # stored values that are words (enum values)
    "draft": _l("draft"), "submitted": _l("submitted"), "approved": _l("approved"),
    "rejected": _l("rejected"), "archived": _l("archived"),
    "full": _l("Full screen"), "ticker": _l("Scrolling ticker"), "mono": _l("single colour"),
    "normal": _l("Normal"), "filler": _l("Filler"), "interrupt": _l("Interrupt"),
    **{role.value: label for role, label in ROLE_LABELS.items()},
    "community": _l("community level"), "street": _l("street level"),
    "block": _l("refuse"), "flag": _l("flag for the reviewer"), "pending": _l("waiting"),
}
COLOUR = {"full": _l("full colour"), "mono": _l("single colour")}
# Actors that are the server itself: the first signing key, screening's OCR decisions.
SYSTEM_ACTORS = {"system": _l("system"), "screening": _l("screening (automatic)")}
COMMANDS = {
    "screenshot": _l("Screenshot"), "reload": _l("Reload"), "clear_cache": _l("Clear cache"),
    "screen": _l("Screen on/off"), "brightness": _l("Brightness"),
}
WEEKDAYS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
# Fields that name another object by id, and the model (and its name column) they name.
REFS: dict[str, tuple[type, str]] = {
    "community_id": (Community, "name"), "building_id": (Building, "name"),
    "content_id": (ContentItem, "title"), "playlist_id": (Playlist, "name"),
    "topic_id": (Topic, "name"), "layout_id": (Layout, "name"),
}
TARGET_MODELS: dict[str, type] = {
    "street": Street, "community": Community, "building": Building, "terminal": Terminal,
}
TARGET_KINDS = {"street": _l("street"), "community": _l("community"),
                "building": _l("building"), "terminal": _l("terminal"), "tag": _l("tag")}


@dataclass
class Change:
    label: str
    new: str
    old: str | None = None  # set when an update changed this field


@dataclass
class Row:
    entry: AuditEntry
    action: str
    object: str
    changes: list[Change] = field(default_factory=list)

    @property
    def actor(self) -> str:
        """Who, as a person reads it: the command line and terminals are not user names."""
        name = self.entry.actor
        if name == "cli":
            return gettext("system (command line)")
        if name in SYSTEM_ACTORS:  # what the server decides by itself
            return str(SYSTEM_ACTORS[name])
        if name.startswith("terminal:"):
            return gettext("terminal #%(id)s", id=name.partition(":")[2])
        return name


def word(value: str) -> str:
    """A stored word (an action, object, status ...) for the reader; unknown ones as they are."""
    for table in (WORDS, ACTIONS, OBJECTS):
        if value in table:
            return str(table[value])
    return value


def command(kind: str, args: dict | None) -> str:
    """A terminal command as a person says it: 截屏, 亮度 60%, 关屏."""
    args = args or {}
    if kind == "screen" and isinstance(args.get("on"), bool):
        return gettext("Screen on") if args["on"] else gettext("Screen off")
    if kind == "brightness" and "level" in args:
        return gettext("Brightness %(level)s%%", level=args["level"])
    return str(COMMANDS.get(kind, kind))


class _Names:
    """Names for the ids an audit page mentions, fetched in one query per kind of object."""

    def __init__(self, s: Session, entries: Iterable[AuditEntry]) -> None:
        wanted: dict[type, set[int]] = defaultdict(set)
        for e in entries:
            for data in (e.before or {}, e.after or {}):
                for key, value in data.items():
                    if key in REFS and isinstance(value, int):
                        wanted[REFS[key][0]].add(value)
                    elif key == "targets" and isinstance(value, list):
                        for t in value:
                            if (isinstance(t, list) and len(t) == 3 and t[0] in TARGET_MODELS
                                    and isinstance(t[1], int)):
                                wanted[TARGET_MODELS[t[0]]].add(t[1])
        self.names: dict[type, dict[int, str]] = {}
        for model, ids in wanted.items():
            column = getattr(model, "title" if model is ContentItem else "name")
            rows = s.execute(select(model.id, column).where(model.id.in_(ids)))
            self.names[model] = {ref: name for ref, name in rows}

    def of(self, model: type, ref: int) -> str:
        name = self.names.get(model, {}).get(ref)
        return name if name is not None else gettext("#%(id)s (deleted)", id=ref)


def _target(names: _Names, t: Any) -> str:
    if not (isinstance(t, list) and len(t) == 3):
        return str(t)
    kind, ref, tag = t
    if kind == "tag":
        return gettext("terminals tagged “%(tag)s”", tag=tag)
    if kind == "street":
        return gettext("the whole street")
    model = TARGET_MODELS.get(kind)
    where = names.of(model, ref) if model and isinstance(ref, int) else str(ref)
    return f"{TARGET_KINDS.get(kind, kind)} {where}"


def _value(names: _Names, key: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if key in REFS and isinstance(value, int):
        return names.of(REFS[key][0], value)
    if key == "targets" and isinstance(value, list):
        return "、".join(_target(names, t) for t in value)
    if key == "weekdays" and isinstance(value, list):
        if sorted(value) == list(range(7)):
            return gettext("every day")
        return " ".join(str(WEEKDAYS[d]) for d in value if isinstance(d, int) and 0 <= d < 7)
    if key == "windows" and isinstance(value, list):
        return "、".join("-".join(map(str, w)) if isinstance(w, list) else str(w) for w in value)
    if key == "regions" and isinstance(value, list):
        return regions_summary([r for r in value if isinstance(r, dict)])
    if key == "entries" and isinstance(value, list):
        return gettext("%(n)s items", n=len(value))
    if key == "colour_mode" and value in COLOUR:
        return str(COLOUR[value])
    if key == "kind" and value in COMMANDS:
        return str(COMMANDS[value])
    if key == "sha256" and isinstance(value, str):
        return value[:12]
    if key == "password" and value == "changed":
        return gettext("changed (not shown)")
    if isinstance(value, list):
        return "、".join(_value(names, key, v) for v in value)
    if isinstance(value, str):
        return str(WORDS[value]) if value in WORDS and key in (
            "status", "role", "mode", "kind", "review_level", "next", "needed", "action",
            "approval"
        ) else value
    return str(value)


def present(s: Session, entries: list[AuditEntry]) -> list[Row]:
    names = _Names(s, entries)
    rows = []
    for e in entries:
        before, after = e.before or {}, e.after or {}
        changes = []
        if e.action == "command":
            changes.append(Change(str(FIELDS["kind"]), command(after.get("kind", ""), {
                k: v for k, v in after.items() if k != "kind"})))
        else:
            warning = e.object_type in warning_present.AUDIT_OBJECTS  # its own words

            def value_of(key: str, value: Any, warning: bool = warning) -> str:
                said = warning_present.audit_value(key, value) if warning else None
                return said if said is not None else _value(names, key, value)

            for key, value in (after or before).items():
                label = warning_present.audit_label(key) if warning else str(FIELDS.get(key, key))
                if before and after:
                    if before.get(key) != value:
                        changes.append(Change(label, value_of(key, value),
                                              value_of(key, before.get(key))))
                else:
                    changes.append(Change(label, value_of(key, value)))
        obj = str(OBJECTS.get(e.object_type, e.object_type))
        action = str(ACTIONS.get(e.action, word(e.action)))
        if e.object_type in warning_present.AUDIT_OBJECTS:
            obj = gettext(warning_present.AUDIT_OBJECTS[e.object_type])
            action = gettext(warning_present.AUDIT_ACTIONS.get(e.action, action))
        rows.append(Row(e, action, obj, changes))
    return rows

