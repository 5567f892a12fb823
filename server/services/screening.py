"""Screening staff text before review: the street's word lists, the check of typed text,
and the text recognised in images and videos (OCR, in a job worker). No Flask.

A `block` word refuses the text with the words named; a `flag` word is stored on the item
(ContentItem.screening) for the reviewer to see highlighted. No list is shipped: the words
come from the authority, and street admins enter or import them.

Text the system writes itself (an official warning's card: no account wrote it) is
official and is not screened.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import content as lib
from server.models import ContentItem, ContentKind, ContentStatus, Role, ScreeningWord
from server.screening import ACTIONS, Hit, blocked, matcher, normalise, words_of
from server.services import audit, changes
from server.services.access import Actor
from server.services.errors import N_, Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

READERS = (Role.street_admin, Role.community_admin)
MAX_WORD = 60
MAX_NOTE = 200
MAX_IMPORT_LINES = 5000
OCR_FIELD = "ocr"
OCR_BATCH = 2  # items per job run: a video is up to five Tesseract runs of ~1-5 s each
SYSTEM_NAME = "screening"  # the actor of what screening decides by itself
# Field names that appear as %(field)s in the refusal, for Babel.
FIELDS = (N_("notice_title"), N_("notice_footer"), N_("text"), N_("ocr"), N_("word"),
          N_("words"))
ACTION_NAMES = (N_("block"), N_("flag"))
OCR_STATES = (N_("pending"), N_("done"), N_("failed"))


# --- the lists ------------------------------------------------------------------------


def require_reader(actor: Actor) -> None:
    actor.require_role(*READERS)


def require_manager(actor: Actor) -> None:
    actor.require_role(Role.street_admin)


def list_words(s: Session, actor: Actor) -> list[ScreeningWord]:
    require_reader(actor)
    return list(s.scalars(select(ScreeningWord).where(ScreeningWord.street_id == actor.street_id)
                          .order_by(ScreeningWord.action, ScreeningWord.word)))


def _clean_word(word: str, action: str) -> tuple[str, str]:
    word = " ".join((word or "").split())
    if not 1 <= len(word) <= MAX_WORD:
        raise Invalid(N_("A word has 1 to %(max)d characters."), field="word", max=MAX_WORD)
    if not normalise(word)[0]:
        raise Invalid(N_("“%(word)s” has no letters or digits to look for."), field="word",
                      word=word)
    if action not in ACTIONS:
        raise Invalid(N_("Choose block or flag."), field="action")
    return word, action


def _existing(s: Session, street_id: int) -> dict[str, ScreeningWord]:
    return {w.word: w for w in s.scalars(select(ScreeningWord)
                                         .where(ScreeningWord.street_id == street_id))}


def add_word(s: Session, actor: Actor, word: str, action: str, note: str = "") -> ScreeningWord:
    require_manager(actor)
    word, action = _clean_word(word, action)
    if word in _existing(s, actor.street_id):
        raise Conflict(N_("“%(word)s” is already on the list."), field="word", word=word)
    row = ScreeningWord(street_id=actor.street_id, word=word, action=action,
                        note=(note or "").strip()[:MAX_NOTE], created_by=actor.id)
    s.add(row)
    s.flush()
    audit.record(s, actor, "create", "screening_word", row.id, label=word,
                 after={"word": word, "action": action, "note": row.note})
    return row


def parse_import(text: str, default: str = "block") -> list[tuple[str, str]]:
    """One word a line, optionally followed by `block` or `flag` (after a space, a tab or a
    comma); empty lines and lines starting with # are skipped."""
    lines = [line.strip() for line in (text or "").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if len(lines) > MAX_IMPORT_LINES:
        raise Invalid(N_("At most %(max)d words at once."), field="words", max=MAX_IMPORT_LINES)
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        word, action = line, default
        for sep in ("\t", ",", "，", " "):
            head, _, tail = line.rpartition(sep)
            if head and tail.strip().lower() in ACTIONS:
                word, action = head.strip(), tail.strip().lower()
                break
        try:
            word, action = _clean_word(word, action)
        except Invalid as err:
            raise Invalid(N_("Line %(line)d: %(problem)s"), field="words", line=n,
                          problem=err.template % err.params) from None
        out[word] = action
    if not out:
        raise Invalid(N_("Type or paste at least one word."), field="words")
    return list(out.items())


def import_words(s: Session, actor: Actor, text: str, default: str = "block"
                 ) -> tuple[int, int]:
    """Words added and words whose action changed; one audit entry naming them."""
    require_manager(actor)
    if default not in ACTIONS:
        raise Invalid(N_("Choose block or flag."), field="action")
    have = _existing(s, actor.street_id)
    added, changed = [], []
    for word, action in parse_import(text, default):
        row = have.get(word)
        if row is None:
            s.add(ScreeningWord(street_id=actor.street_id, word=word, action=action,
                                created_by=actor.id))
            added.append(word)
        elif row.action != action:
            row.action = action
            changed.append(word)
    s.flush()
    if added or changed:
        audit.record(s, actor, "import", "screening_word", None,
                     label=f"+{len(added)} ~{len(changed)}",
                     after={"added": added, "changed": changed})
    return len(added), len(changed)


def delete_word(s: Session, actor: Actor, word_id: int) -> None:
    require_manager(actor)
    row = s.get(ScreeningWord, word_id)
    if row is None or row.street_id != actor.street_id:
        raise NotFound(N_("No such %(what)s."), what="word")
    audit.record(s, actor, "delete", "screening_word", row.id, label=row.word,
                 before={"word": row.word, "action": row.action, "note": row.note})
    s.delete(row)
    s.flush()


# --- screening text -----------------------------------------------------------------------


def find(s: Session, street_id: int, fields: dict[str, str | None]) -> list[Hit]:
    """Every listed word in the texts, block and flag alike."""
    words = tuple((word, action) for word, action in s.execute(
        select(ScreeningWord.word, ScreeningWord.action)
        .where(ScreeningWord.street_id == street_id).order_by(ScreeningWord.word)))
    if not words:
        return []
    return matcher(words).screen(fields)


def refusal(hits: list[Hit]) -> Invalid | None:
    """The error naming the blocked words of the first field that has any."""
    bad = blocked(hits)
    if not bad:
        return None
    field = bad[0].field
    return Invalid(N_("%(field)s contains blocked words: %(words)s. Remove them; the word "
                      "list is kept by the street administrators."), field=field,
                   words="、".join(words_of(h for h in bad if h.field == field)))


def screen_texts(s: Session, street_id: int, fields: dict[str, str | None]) -> list[Hit]:
    """The hits (flags) in staff text; raises Invalid naming the words if one is blocked."""
    hits = find(s, street_id, fields)
    err = refusal(hits)
    if err is not None:
        raise err
    return hits


def screen_for(s: Session, actor: Actor, fields: dict[str, str | None]) -> list[Hit]:
    """`screen_texts` for text `actor` writes; none for the system's own (a warning card)."""
    if actor.id is None:
        return []
    return screen_texts(s, actor.street_id, fields)


def store_hits(item: ContentItem, hits: list[Hit], fields: list[str] | tuple[str, ...]
               ) -> None:
    """Replace the item's hits of `fields` (the texts just screened), keep the others."""
    kept = [h for h in (item.screening or {}).get("hits", []) if h["field"] not in fields]
    item.screening = {"hits": kept + [h.as_dict() for h in hits]}


def media_changed(item: ContentItem) -> None:
    """A new image or video: its text is read again (ocr_pending)."""
    if item.kind in (ContentKind.image, ContentKind.video):
        item.ocr_state, item.ocr_text = "pending", ""
    else:
        item.ocr_state, item.ocr_text = "", ""
    store_hits(item, [], (OCR_FIELD,))


def hits_of(item: ContentItem, field: str) -> list[dict]:
    return [h for h in (item.screening or {}).get("hits", []) if h["field"] == field]


def marked(text: str, hits: list[dict]) -> list[tuple[str | None, str]]:
    """The text as runs, each with the action of the word it is part of (None: plain), so
    a page can highlight the hits where they are."""
    spans = sorted((h["start"], h["end"], h["action"]) for h in hits
                   if 0 <= h["start"] < h["end"] <= len(text))
    out: list[tuple[str | None, str]] = []
    at = 0
    for start, end, action in spans:
        start = max(start, at)
        if start >= end:
            continue
        if start > at:
            out.append((None, text[at:start]))
        out.append((action, text[start:end]))
        at = end
    if at < len(text):
        out.append((None, text[at:]))
    return out


# --- OCR ----------------------------------------------------------------------------------


def ocr_pending(s: Session, blob_dir: str, limit: int = OCR_BATCH) -> set[int]:
    """The job (in a worker process): read the text of a few items waiting for it and
    screen it. Returns the terminals whose manifests changed (an approved item taken off
    screens): committed here, the caller nudges them."""
    from server.screening import ocr

    rows = s.execute(select(ContentItem.id, ContentItem.kind, ContentItem.blob_sha256)
                     .where(ContentItem.ocr_state == "pending")
                     .order_by(ContentItem.id).limit(limit)).all()
    s.commit()  # no transaction held while Tesseract reads
    store = lib.BlobStore(Path(blob_dir), fsync=False)
    touched: set[int] = set()
    for item_id, kind, sha in rows:
        try:
            text, error = ocr.read_file(store.path(sha), kind.value), ""
        except Exception as exc:  # Tesseract missing, a damaged file: shown, not passed
            log.warning("OCR of content %s failed: %s", item_id, exc)
            text, error = "", f"{type(exc).__name__}: {exc}"[:200]
        touched |= apply_ocr(s, item_id, sha, text, error)
        s.commit()
    return touched


def apply_ocr(s: Session, item_id: int, sha: str | None, text: str, error: str = ""
              ) -> set[int]:
    """Store what was read from the item's file `sha` and screen it; a blocked word rejects
    the item (and takes it off screens if it was approved). Returns the terminals whose
    manifests changed. A file replaced meanwhile is left pending for the next run."""
    item = s.get(ContentItem, item_id)
    if item is None or item.ocr_state != "pending" or item.blob_sha256 != sha:
        return set()
    if error:
        item.ocr_state, item.ocr_text = "failed", error
        return set()
    item.ocr_state, item.ocr_text = "done", text
    hits = find(s, item.street_id, {OCR_FIELD: text})
    store_hits(item, hits, (OCR_FIELD,))
    bad = words_of(blocked(hits))
    if not bad or item.status in (ContentStatus.rejected, ContentStatus.archived):
        return set()
    live = s.get(ContentItem, item.draft_of_id) if item.draft_of_id else None
    subject = live or item
    was = item.status
    item.status, item.reject_reason = ContentStatus.rejected, \
        f"图片或视频中的文字含有禁用词：{'、'.join(bad)}"[:500]
    item.reviewed_by, item.reviewed_at = None, None
    audit.record(s, Actor.system(item.street_id, SYSTEM_NAME), "rejected", "content",
                 subject.id, label=subject.title, community_id=subject.community_id,
                 before={"status": was.value},
                 after={"status": "rejected", "reason": item.reject_reason,
                        "blocked_words": bad, "taken_off_screens": was ==
                        ContentStatus.approved, **({"pending_edit": True} if live else {})})
    return changes.content_changed(s, item.id) if live is None else set()

