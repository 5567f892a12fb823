"""Read a warning message (CAP 1.2, or GB/T 35965.1 which is CAP-based) from untrusted bytes.

Every message comes from outside (a feed, a webhook, an upload), so the order is: size
first, then a parse that refuses any DOCTYPE (entities, external references) before anything
is expanded, then a second, locked-down lxml parse for the OASIS schema, then the fields
this product relies on (times, references, polygons, circles). Any refusal is a CapError
with a short code and an English reason (a msgid) that the edge translates.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException
from lxml import etree

from server.cap.message import Area, CapMessage, Geocode, Info, LatLon, Reference
from server.services.errors import N_

MAX_BYTES = 256 * 1024
# A real alert has tens of elements, a few hundred with many geocodes. The limit keeps a
# hostile one from making the schema validator report thousands of errors (CPU time).
MAX_ELEMENTS = 2000
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_PATH = Path(__file__).with_name("CAP-v1.2.xsd")
CAP_MEDIA_TYPES = ("application/cap+xml", "application/common-alerting-protocol+xml")

# GB/T 35965.1 grades a warning by colour where CAP has a severity word. The colour is
# kept (CapMessage.gb_level) and the CAP word put in its place so the OASIS schema applies.
GB_SEVERITY = {
    "red": ("red", "Extreme"), "红色": ("red", "Extreme"), "红": ("red", "Extreme"),
    "orange": ("orange", "Severe"), "橙色": ("orange", "Severe"), "橙": ("orange", "Severe"),
    "yellow": ("yellow", "Moderate"), "黄色": ("yellow", "Moderate"),
    "黄": ("yellow", "Moderate"),
    "blue": ("blue", "Minor"), "蓝色": ("blue", "Minor"), "蓝": ("blue", "Minor"),
    "white": ("white", "Minor"), "白色": ("white", "Minor"), "白": ("white", "Minor"),
    "未知": (None, "Unknown"),
}
TIME_FIELDS = ("sent", "effective", "onset", "expires")
# CAP 1.2 section 3.3.2: an explicit offset, never "Z".
CAP_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
# CAP 1.2 section 3.2.1: identifier and sender carry no spaces, commas or "<", "&".
CAP_NAME = re.compile(r"[^\s,<&]+")

_DECLARED = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
EXPAT_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "utf-16", "utf-16le", "utf-16be",
                   "iso-8859-1", "latin-1", "latin1"}

DTD_FORBIDDEN = N_("The message declares a DOCTYPE or entities, which are refused: they can "
                   "expand without limit or read files and addresses.")
NOT_XML = N_("The message is not well-formed XML: %(detail)s")
SCHEMA = N_("The message does not follow the CAP 1.2 schema (line %(line)s): %(detail)s")


class CapError(Exception):
    """A message refused: `code` for programs, `reason` (msgid) and `params` for people."""

    def __init__(self, code: str, reason: str, **params: object) -> None:
        self.code = code
        self.reason = reason
        self.params = params
        super().__init__(reason % params if params else reason)

    def __reduce__(self) -> tuple:
        return _rebuild, (self.code, self.reason, self.params)


def _rebuild(code: str, reason: str, params: dict) -> CapError:
    return CapError(code, reason, **params)


@dataclass(frozen=True)
class FeedEntry:
    id: str
    updated: datetime | None
    url: str


def _short(value: object, limit: int = 80) -> str:
    """A value quoted in a reason, cut so a hostile message cannot make the reason huge."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lxml_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network, libxml2's own size and depth limits.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True, collect_ids=False)


class _TooManyElements(Exception):
    pass


class _Counter:
    """An expat target that keeps nothing and counts elements, so the first pass costs no
    tree and a flood of elements stops early."""

    def __init__(self) -> None:
        self.count = 0

    def start(self, tag: str, attrib: dict) -> None:
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise _TooManyElements

    def close(self) -> int:
        return self.count


def as_utf8(data: bytes) -> bytes:
    """The document in UTF-8 when it declares an encoding expat cannot read (GB2312, GBK,
    GB18030: what Chinese systems often send), with its declaration changed to match; else
    as it is. Also for showing a received message as text. CapError if it cannot be read."""
    m = _DECLARED.match(data.removeprefix(b"\xef\xbb\xbf")[:256])
    if not m:
        return data
    declared = m.group(1).decode("ascii")
    if declared.lower() in EXPAT_ENCODINGS:
        return data
    try:
        text = data.decode(codecs.lookup(declared).name)
    except (LookupError, UnicodeDecodeError):
        raise CapError("not_xml", NOT_XML, detail=_short(
            f"cannot be read in its declared encoding {declared}")) from None
    text = re.sub(r"""(encoding\s*=\s*["'])[^"']+""", r"\1UTF-8", text, count=1)
    return text.encode("utf-8")


def _safe_root(data: bytes) -> etree._Element:
    """The parsed root element, or CapError; nothing in the document is expanded or fetched."""
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise CapError("too_large", N_("The message is larger than %(limit)s KB (%(size)s bytes)."),
                       limit=MAX_BYTES // 1024, size=len(data))
    if not data.strip():
        raise CapError("not_xml", N_("The message is empty."))
    data = as_utf8(data)
    # First pass with expat through defusedxml: a DOCTYPE stops it at the declaration, before
    # any entity (internal, external file or URL) could be defined, let alone expanded.
    counter = _Counter()
    try:
        parser = safe_et.DefusedXMLParser(target=counter, forbid_dtd=True,
                                          forbid_entities=True, forbid_external=True)
        parser.feed(data)
        parser.close()
    except DefusedXmlException:
        raise CapError("dtd_forbidden", DTD_FORBIDDEN) from None
    except _TooManyElements:
        raise CapError("too_large", N_("The message has more than %(limit)s elements."),
                       limit=MAX_ELEMENTS) from None
    except (ParseError, ValueError) as e:
        raise CapError("not_xml", NOT_XML, detail=_short(e)) from None
    # Second pass with lxml (for the schema), locked down the same way.
    try:
        root = etree.fromstring(data, _lxml_parser())
    except etree.XMLSyntaxError as e:
        raise CapError("not_xml", NOT_XML, detail=_short(e)) from None
    if root.getroottree().docinfo.internalDTD is not None:  # belt and braces
        raise CapError("dtd_forbidden", DTD_FORBIDDEN)
    return root


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _lxml_parser()))


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _text(el: etree._Element, name: str) -> str:
    child = el.find(_q(name))
    return (child.text or "").strip() if child is not None else ""


def _root_name(root: etree._Element) -> str:
    q = etree.QName(root)
    return f"{{{q.namespace}}}{q.localname}" if q.namespace else q.localname


def is_cap(data: bytes) -> bool:
    """Whether the bytes are (safely) a CAP 1.2 alert, so a feed URL may name one message."""
    try:
        root = _safe_root(data)
    except CapError:
        return False
    return root.tag == _q("alert")


def _map_gb(root: etree._Element) -> str | None:
    """Replace GB/T 35965.1 colour severities by CAP's; the first colour met, or None."""
    level = None
    for sev in root.iter(_q("severity")):
        word = (sev.text or "").strip()
        mapped = GB_SEVERITY.get(word.lower()) or GB_SEVERITY.get(word)
        if mapped is None:
            continue
        colour, cap = mapped
        sev.text = cap
        if level is None:
            level = colour or ""
    return level


def _check_attributes(root: etree._Element) -> None:
    """CAP elements carry no attributes (xsi: hints aside). Refused here, at the first one,
    rather than by the validator, which would report every one of thousands."""
    for el in root.iter(f"{{{CAP_NS}}}*"):
        for name in el.attrib:
            if not name.startswith(f"{{{XSI_NS}}}"):
                raise CapError("schema", SCHEMA, line=el.sourceline or 0, detail=_short(
                    f"attribute {etree.QName(name).localname} is not allowed on "
                    f"{etree.QName(el).localname}"))


def _check_times(root: etree._Element) -> None:
    for name in TIME_FIELDS:
        for el in root.iter(_q(name)):
            value = (el.text or "").strip()
            if not CAP_TIME.fullmatch(value):
                raise CapError("bad_time", N_(
                    "The time in %(field)s is not a CAP time with its offset, such as "
                    "2026-09-15T14:00:00+08:00: %(value)s"), field=name, value=_short(value))
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise CapError("bad_time", N_(
                    "The time in %(field)s is not a real date and time: %(value)s"),
                    field=name, value=_short(value)) from None


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _opt_time(el: etree._Element, name: str) -> datetime | None:
    value = _text(el, name)
    return _time(value) if value else None


def _pairs(el: etree._Element, name: str) -> tuple[Geocode, ...]:
    return tuple(Geocode(_text(c, "valueName"), _text(c, "value")) for c in el.findall(_q(name)))


def _point(text: str) -> LatLon:
    lat_s, lon_s = text.split(",")
    lat, lon = float(lat_s), float(lon_s)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise ValueError(text)
    return lat, lon


def parse_polygon(text: str) -> tuple[LatLon, ...]:
    """CAP's "lat,lon lat,lon ..." as a closed ring (closed here if the sender did not)."""
    points = tuple(_point(p) for p in text.split())
    if len(points) > 1 and points[0] != points[-1]:
        points = (*points, points[0])
    if len(set(points)) < 3:
        raise ValueError(text)
    return points


def parse_circle(text: str) -> tuple[LatLon, float]:
    """CAP's "lat,lon radius" (radius in km)."""
    centre, radius_s = text.split()
    radius = float(radius_s)
    if not (math.isfinite(radius) and radius >= 0):
        raise ValueError(text)
    return _point(centre), radius


def _area(el: etree._Element) -> Area:
    desc = _text(el, "areaDesc")
    polygons = []
    for p in el.findall(_q("polygon")):
        try:
            polygons.append(parse_polygon(p.text or ""))
        except ValueError:
            raise CapError("bad_polygon", N_(
                "The polygon of area %(area)s is not a ring of at least three lat,lon points "
                "within range: %(value)s"), area=_short(desc), value=_short(p.text or "")) from None
    circles = []
    for c in el.findall(_q("circle")):
        try:
            circles.append(parse_circle(c.text or ""))
        except ValueError:
            raise CapError("bad_circle", N_(
                "The circle of area %(area)s is not \"lat,lon radius\" within range: "
                "%(value)s"), area=_short(desc), value=_short(c.text or "")) from None
    return Area(desc=desc, polygons=tuple(polygons), circles=tuple(circles),
                geocodes=_pairs(el, "geocode"))


def _info(el: etree._Element) -> Info:
    return Info(
        event=_text(el, "event"), urgency=_text(el, "urgency"), severity=_text(el, "severity"),
        certainty=_text(el, "certainty"), language=_text(el, "language") or "en-US",
        event_codes=_pairs(el, "eventCode"), effective=_opt_time(el, "effective"),
        onset=_opt_time(el, "onset"), expires=_opt_time(el, "expires"),
        sender_name=_text(el, "senderName"), headline=_text(el, "headline"),
        description=_text(el, "description"), instruction=_text(el, "instruction"),
        areas=tuple(_area(a) for a in el.findall(_q("area"))))


def _references(text: str) -> tuple[Reference, ...]:
    """CAP's whitespace-separated "sender,identifier,sent" triples."""
    refs = []
    for item in text.split():
        parts = item.split(",")
        try:
            if len(parts) != 3 or not parts[0] or not parts[1]:
                raise ValueError(item)
            if not CAP_TIME.fullmatch(parts[2]):
                raise ValueError(item)
            refs.append(Reference(parts[0], parts[1], _time(parts[2])))
        except ValueError:
            raise CapError("bad_reference", N_(
                "The reference %(value)s is not \"sender,identifier,sent\"."),
                value=_short(item)) from None
    return tuple(refs)


def parse(data: bytes) -> CapMessage:
    """The message in `data`, or CapError saying why it is refused."""
    root = _safe_root(data)
    if root.tag != _q("alert"):
        raise CapError("not_cap", N_(
            "The document is not a CAP 1.2 alert: its root element is %(root)s."),
            root=_short(_root_name(root)))
    gb_level = _map_gb(root)  # on our own parsed tree: `data` stays as received
    _check_times(root)
    _check_attributes(root)
    schema = _schema()
    if not schema.validate(root):
        err = schema.error_log.last_error
        detail = (err.message if err else "").replace(f"{{{CAP_NS}}}", "")
        raise CapError("schema", SCHEMA, line=err.line if err else 0,
                       detail=_short(detail, 160))
    for name in ("identifier", "sender"):
        if not CAP_NAME.fullmatch(_text(root, name)):
            raise CapError("bad_identifier", N_(
                "The %(field)s \"%(value)s\" is empty or holds spaces or commas, which CAP 1.2 "
                "forbids."), field=name, value=_short(_text(root, name)))
    msg_type = _text(root, "msgType")
    infos = tuple(_info(i) for i in root.findall(_q("info")))
    if not infos and msg_type in ("Alert", "Update"):
        raise CapError("no_info", N_(
            "The message has no info block: an alert or update must say what it warns of."))
    references = _references(_text(root, "references"))
    if not references and msg_type in ("Update", "Cancel"):
        raise CapError("no_references", N_(
            "A message of type %(msg_type)s must name the message it follows in references."),
            msg_type=msg_type)
    return CapMessage(
        identifier=_text(root, "identifier"), sender=_text(root, "sender"),
        sent=_time(_text(root, "sent")), status=_text(root, "status"), msg_type=msg_type,
        scope=_text(root, "scope"), references=references, infos=infos,
        profile="cap" if gb_level is None else "gb", gb_level=gb_level or None,
        note=_text(root, "note"), raw=data)


def _atom_time(value: str) -> datetime | None:
    """Atom's RFC 3339 time (which may end in Z), or None if absent or unreadable."""
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def _rss_time(value: str) -> datetime | None:
    """RSS's RFC 822 pubDate, or None."""
    try:
        t = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def _is_cap_type(media_type: str | None) -> bool:
    return (media_type or "").split(";")[0].strip().lower() in CAP_MEDIA_TYPES


def _atom_url(entry: etree._Element) -> str:
    links = entry.findall(f"{{{ATOM_NS}}}link")
    for link in links:
        if (link.get("rel") or "alternate") in ("alternate", "related") \
                and _is_cap_type(link.get("type")):
            return (link.get("href") or "").strip()
    if len(links) == 1:
        return (links[0].get("href") or "").strip()
    return ""


def _rss_url(item: etree._Element) -> str:
    for enclosure in item.findall("enclosure"):
        if _is_cap_type(enclosure.get("type")):
            return (enclosure.get("url") or "").strip()
    return (item.findtext("link") or "").strip()


def _web_url(href: str, base_url: str) -> str:
    """The feed link resolved against `base_url` when given, or "" if it names anything but
    an http(s) address: a feed must never make the poller read file:// or other schemes.
    Without a base a relative link is kept for the caller to resolve."""
    if not href or (href.startswith("//") and not urlsplit(href).netloc):
        return ""
    url = urljoin(base_url, href) if base_url else href
    parts = urlsplit(url)
    if not parts.scheme and not base_url:
        return url  # relative, or "//host/...": the caller's scheme applies
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def parse_feed(data: bytes, base_url: str = "") -> list[FeedEntry]:
    """The entries of an Atom index of CAP messages (or an RSS 2.0 one, as many national
    feeds are), in document order. Entries without a message link, or whose link has a
    scheme other than http(s), are skipped; relative links are resolved against `base_url`
    (the feed's own address) when given, else kept relative."""
    root = _safe_root(data)
    entries = []
    if root.tag == f"{{{ATOM_NS}}}feed":
        for entry in root.findall(f"{{{ATOM_NS}}}entry"):
            url = _web_url(_atom_url(entry), base_url)
            if url:
                entries.append(FeedEntry(
                    id=(entry.findtext(f"{{{ATOM_NS}}}id") or "").strip() or url,
                    updated=_atom_time(entry.findtext(f"{{{ATOM_NS}}}updated") or ""),
                    url=url))
    elif root.tag == "rss":
        for item in root.iterfind("channel/item"):
            url = _web_url(_rss_url(item), base_url)
            if url:
                entries.append(FeedEntry(
                    id=(item.findtext("guid") or "").strip() or url,
                    updated=_rss_time(item.findtext("pubDate") or ""), url=url))
    else:
        raise CapError("not_feed", N_(
            "The document is not an Atom or RSS feed: its root element is %(root)s."),
            root=_short(_root_name(root)))
    return entries
