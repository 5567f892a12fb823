"""Every message the code and templates show has a Chinese translation.

The messages are extracted in-process exactly as `make translations` does (babel.cfg, the
same keywords), without writing a catalog; a msgid that has no non-fuzzy zh_Hans_CN entry
in the .po file, or whose entry is missing from the compiled .mo the server loads, would
reach a Chinese user in English."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "server" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
# As the Makefile's `pybabel extract -k _l -k N_`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}


def _source_dirs(dirpath: str) -> bool:
    """Walk only the tree babel.cfg's patterns can match (server/), not data or media."""
    rel = Path(dirpath).resolve().relative_to(ROOT)
    return not rel.parts or rel.parts[0] == "server"


def _extracted() -> dict[str | tuple[str, ...], list[str]]:
    """Each msgid (a tuple for plural messages) with the places that use it."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=_source_dirs):
        if isinstance(message, list):  # some extractors give plural forms as a list
            message = tuple(message)
        if not message or (isinstance(message, tuple) and not message[0]):
            continue
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def _translated(catalog) -> set[str]:
    """msgids (singular form) with a real, non-fuzzy Chinese string."""
    ids = set()
    for m in catalog:
        if not m.id or m.fuzzy:
            continue
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        if all(strings):
            ids.add(m.id[0] if isinstance(m.id, tuple | list) else m.id)
    return ids


def test_every_message_has_a_chinese_translation():
    with (CATALOG / "messages.po").open("rb") as f:
        po = _translated(read_po(f))
    with (CATALOG / "messages.mo").open("rb") as f:
        mo = _translated(read_mo(f))
    extracted = _extracted()
    assert len(extracted) > 300  # the extraction itself worked (the UI has hundreds)

    def singular(msgid):
        return msgid[0] if isinstance(msgid, tuple | list) else msgid

    missing = sorted(
        f"{singular(msgid)!r} ({', '.join(places[:2])})"
        for msgid, places in extracted.items() if singular(msgid) not in po)
    assert not missing, "untranslated in messages.po:\n" + "\n".join(missing)
    stale = sorted(repr(singular(msgid)) for msgid in extracted if singular(msgid) not in mo)
    assert not stale, ("translated in messages.po but not in messages.mo (run `pybabel compile "
                       "-d server/translations`):\n" + "\n".join(stale))
