"""Reading warning messages: every sample, every refusal with its code, the GB/T 35965.1
profile, times, references, geometry text, feeds. Pure: no database, no server."""

from __future__ import annotations

import pickle
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree

from server.cap import parse as cap_parse
from server.cap.parse import MAX_BYTES, CapError, is_cap, parse, parse_feed
from tests.cap.samples import DEFAULT_IDS, SENDER, SHENZHEN, names, sample

SENT = datetime(2026, 9, 15, 14, 0, tzinfo=SHENZHEN)
EXPIRES = SENT + timedelta(hours=6)

VALID = {
    "typhoon_orange_yantian": ("Alert", "cap"),
    "typhoon_red_yantian_update": ("Update", "cap"),
    "typhoon_cancel_yantian": ("Cancel", "cap"),
    "rainstorm_futian": ("Alert", "cap"),
    "rainstorm_polygon_donghe": ("Alert", "cap"),
    "hail_circle_donghe": ("Alert", "cap"),
    "gb_typhoon_orange": ("Alert", "gb"),
    "gale_bilingual": ("Alert", "cap"),
}
REFUSED = {
    "billion_laughs": "dtd_forbidden",
    "xxe_file": "dtd_forbidden",
    "xxe_http": "dtd_forbidden",
    "not_xml": "not_xml",
    "not_cap": "not_cap",
    "feed": "not_cap",
    "bad_time": "bad_time",
    "bad_polygon": "bad_polygon",
    "bad_circle": "bad_circle",
    "huge": "too_large",
}
TYPHOON = "typhoon_orange_yantian"


def refused(data: bytes) -> CapError:
    with pytest.raises(CapError) as info:
        parse(data)
    return info.value


def test_every_sample_is_listed_here():
    assert set(names()) | {"huge"} == set(VALID) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_samples_parse(name):
    data = sample(name, sent=SENT, expires=EXPIRES, identifier=f"id-{name}")
    msg = parse(data)
    msg_type, profile = VALID[name]
    assert (msg.msg_type, msg.profile) == (msg_type, profile)
    assert msg.identifier == f"id-{name}"
    assert msg.sender == SENDER
    assert msg.status == "Actual" and msg.scope == "Public"
    assert msg.sent == datetime(2026, 9, 15, 6, 0, tzinfo=UTC)
    assert msg.sent.tzinfo is UTC
    assert msg.raw == data
    info = msg.info
    assert info is not None and info.language == "zh-CN"
    assert info.expires == datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
    assert info.areas and all(a.desc for a in info.areas)
    assert info.headline.startswith(("深圳市气象台", "沙头角街道"))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_samples_have_their_code(name):
    err = refused(sample(name, sent=SENT, expires=EXPIRES))
    assert err.code == REFUSED[name]
    assert str(err) == err.reason % err.params  # English, parameters filled
    assert "%(" not in str(err)


def test_the_orange_typhoon_in_full():
    msg = parse(sample(TYPHOON, sent=SENT, expires=EXPIRES))
    assert msg.identifier == DEFAULT_IDS[TYPHOON]
    assert msg.references == () and msg.gb_level is None
    (info,) = msg.infos
    assert (info.event, info.urgency, info.severity, info.certainty) == (
        "台风", "Expected", "Severe", "Likely")
    assert info.sender_name == "深圳市气象台"
    assert info.headline == "深圳市气象台发布盐田区台风橙色预警信号"
    assert info.instruction.startswith("防御指引：1. 进入紧急防风状态")
    assert "第18号台风" in info.description
    assert info.effective == info.onset == datetime(2026, 9, 15, 6, 0, tzinfo=UTC)
    assert [(c.name, c.value) for c in info.event_codes] == [("预警信号", "台风")]
    (area,) = info.areas
    assert area.desc == "深圳市盐田区"
    assert [(g.name, g.value) for g in area.geocodes] == [("GB/T 2260", "440308")]
    assert area.polygons == () and area.circles == ()


def test_update_and_cancel_name_the_messages_they_follow():
    t1 = SENT - timedelta(hours=2)
    update = parse(sample("typhoon_red_yantian_update", sent=SENT, identifier="u-2",
                          references=[("a-1", t1)]))
    assert update.msg_type == "Update"
    (ref,) = update.references
    assert (ref.sender, ref.identifier, ref.sent) == (SENDER, "a-1", t1.astimezone(UTC))
    cancel = parse(sample("typhoon_cancel_yantian", sent=SENT + timedelta(hours=1),
                          references=[("a-1", t1), ("u-2", SENT)]))
    assert [r.identifier for r in cancel.references] == ["a-1", "u-2"]
    # By default the update names the orange alert and the cancel the update.
    assert parse(sample("typhoon_red_yantian_update")).references[0].identifier == \
        DEFAULT_IDS[TYPHOON]
    assert parse(sample("typhoon_cancel_yantian")).references[0].identifier == \
        DEFAULT_IDS["typhoon_red_yantian_update"]


def test_multiple_info_blocks_are_kept_and_chinese_is_shown():
    msg = parse(sample("gale_bilingual", sent=SENT))
    assert [i.language for i in msg.infos] == ["en-US", "zh-CN"]
    assert msg.infos[0].headline == "Yellow Gale Warning for Yantian District"
    assert msg.info is msg.infos[1] and msg.info.event == "大风"


def test_geometry_is_read_as_floats():
    poly = parse(sample("rainstorm_polygon_donghe", sent=SENT)).info.areas[0]
    assert poly.polygons == (((22.55, 114.23), (22.55, 114.245), (22.561, 114.245),
                              (22.561, 114.23), (22.55, 114.23)),)
    circle = parse(sample("hail_circle_donghe", sent=SENT)).info.areas[0]
    assert circle.circles == (((22.555, 114.237), 2.0),)


# --- GB/T 35965.1 profile ----------------------------------------------------------

@pytest.mark.parametrize(("word", "level", "severity"), [
    ("Orange", "orange", "Severe"), ("橙色", "orange", "Severe"), ("Red", "red", "Extreme"),
    ("红色", "red", "Extreme"), ("yellow", "yellow", "Moderate"), ("蓝色", "blue", "Minor"),
    ("Blue", "blue", "Minor"), ("白色", "white", "Minor"),
])
def test_gb_colour_severities_are_mapped_before_validation(word, level, severity):
    data = sample("gb_typhoon_orange", sent=SENT).replace(
        b"<severity>Orange</severity>", f"<severity>{word}</severity>".encode())
    msg = parse(data)
    assert (msg.profile, msg.gb_level, msg.info.severity) == ("gb", level, severity)
    assert msg.raw == data  # the bytes kept are the bytes received
    (area,) = msg.info.areas
    assert [(g.name, g.value) for g in area.geocodes] == [("行政区划代码", "440308003000")]


def test_a_cap_severity_is_not_a_gb_message():
    msg = parse(sample(TYPHOON))
    assert (msg.profile, msg.gb_level) == ("cap", None)


def test_unknown_severity_word_is_still_refused_by_the_schema():
    data = sample("gb_typhoon_orange").replace(b"Orange", b"Purple")
    err = refused(data)
    assert err.code == "schema" and "severity" in err.params["detail"]


@pytest.mark.parametrize("encoding", ["GB18030", "GBK", "GB2312"])
def test_chinese_encodings_are_read(encoding):
    text = sample(TYPHOON, sent=SENT).decode().replace('encoding="UTF-8"',
                                                      f'encoding="{encoding}"')
    data = text.encode(encoding)
    msg = parse(data)
    assert msg.info.headline == "深圳市气象台发布盐田区台风橙色预警信号"
    assert msg.raw == data  # as received; as_utf8 gives the text to show
    assert cap_parse.as_utf8(data).decode("utf-8") == text.replace(
        f'encoding="{encoding}"', 'encoding="UTF-8"')
    assert cap_parse.as_utf8(sample(TYPHOON, sent=SENT)) == sample(TYPHOON, sent=SENT)


def test_undeclared_or_unreadable_encodings_are_refused():
    text = sample(TYPHOON).decode().replace('encoding="UTF-8"', 'encoding="no-such-code"')
    assert refused(text.encode()).code == "not_xml"
    text = sample(TYPHOON).decode().replace('encoding="UTF-8"', 'encoding="GBK"')
    assert refused(text.encode("utf-8")[:-40] + b"\xff\xff</alert>").code == "not_xml"


# --- times -------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "2026-09-15T14:00:00Z", "2026-09-15 14:00:00+08:00", "2026-09-15T14:00+08:00",
    "2026-09-15T14:00:00", "tomorrow",
])
def test_times_without_an_offset_are_refused_naming_the_field(value):
    data = sample(TYPHOON, sent=SENT).replace(b"<onset>2026-09-15T14:00:00+08:00",
                                              f"<onset>{value}".encode())
    err = refused(data)
    assert (err.code, err.params["field"], err.params["value"]) == ("bad_time", "onset", value)


def test_an_impossible_date_is_a_bad_time():
    data = sample(TYPHOON, sent=datetime(2026, 2, 28, 9, 0, tzinfo=SHENZHEN)).replace(
        b"2026-02-28T09:00:00", b"2026-02-30T09:00:00")
    err = refused(data)
    assert err.code == "bad_time" and err.params["field"] == "sent"


def test_offsets_become_utc():
    data = sample(TYPHOON, sent=SENT).replace(b"<sent>2026-09-15T14:00:00+08:00",
                                              b"<sent>2026-09-15T01:00:00-05:00")
    assert parse(data).sent == datetime(2026, 9, 15, 6, 0, tzinfo=UTC)
    data = sample(TYPHOON, sent=SENT).replace(b"2026-09-15T14:00:00+08:00",
                                              b"2026-09-15T06:00:00-00:00")
    msg = parse(data)
    assert msg.sent == datetime(2026, 9, 15, 6, 0, tzinfo=UTC)
    assert msg.info.onset == msg.sent and msg.info.onset.tzinfo is UTC


# --- other refusals ----------------------------------------------------------------

def test_schema_refusals_say_where():
    data = sample(TYPHOON).replace(b"<urgency>Expected", b"<urgency>Soon")
    err = refused(data)
    assert err.code == "schema" and "urgency" in err.params["detail"]
    assert err.params["line"] > 1
    err = refused(sample(TYPHOON).replace(b"<scope>Public</scope>", b""))
    assert err.code == "schema" and "scope" in err.params["detail"]


def test_attributes_on_cap_elements_are_refused_at_the_first():
    flood = b" ".join(b'a%d="x"' % i for i in range(5000))
    data = sample(TYPHOON).replace(b"<status>", b"<status " + flood + b">", 1)
    err = refused(data)
    assert err.code == "schema" and err.params["detail"] == (
        "attribute a0 is not allowed on status")


def test_an_element_flood_is_refused_before_the_schema():
    base = sample(TYPHOON)
    flood = b"<info><bogus/></info>" * (cap_parse.MAX_ELEMENTS + 1)
    data = base.replace(b"<info>", flood + b"<info>", 1)
    assert len(data) < MAX_BYTES
    err = refused(data)
    assert (err.code, err.params["limit"]) == ("too_large", cap_parse.MAX_ELEMENTS)


def test_deep_nesting_is_refused():
    depth = 1500  # fewer elements than MAX_ELEMENTS, deeper than libxml2 allows
    data = b"<a>" * depth + b"</a>" * depth
    assert refused(data).code == "not_xml"
    depth = 30_000
    data = b"<a>" * depth + b"</a>" * depth
    assert len(data) < MAX_BYTES
    assert refused(data).code == "too_large"


def test_size_is_checked_before_anything_is_read():
    data = b"<" + b"x" * MAX_BYTES  # not XML either: the size is what is reported
    err = refused(data)
    assert (err.code, err.params["size"]) == ("too_large", MAX_BYTES + 1)
    assert refused(sample(TYPHOON) + b" " * (MAX_BYTES)).code == "too_large"
    assert len(sample("huge")) > MAX_BYTES


@pytest.mark.parametrize("data", [b"", b"   \n", b"\x00\x01\x02", b"<alert>", b"{}"])
def test_garbage_is_not_xml(data):
    assert refused(data).code == "not_xml"


def test_alert_and_update_need_an_info_block_cancel_does_not():
    start, end = sample(TYPHOON).split(b"<info>")[0], b"</alert>\n"
    assert refused(start + end).code == "no_info"
    cancel = sample("typhoon_cancel_yantian")
    bare = cancel.split(b"<info>")[0] + end
    msg = parse(bare)
    assert msg.msg_type == "Cancel" and msg.infos == () and msg.info is None


def test_update_and_cancel_need_references():
    for name in ("typhoon_red_yantian_update", "typhoon_cancel_yantian"):
        err = refused(sample(name, references=[]))
        assert err.code == "no_references"
        assert err.params["msg_type"] in ("Update", "Cancel")


@pytest.mark.parametrize("ref", [
    "深圳市气象台,only-two", "a,b,c,d", ",id,2026-09-15T14:00:00+08:00",
    "深圳市气象台,id,2026-09-15T14:00:00Z", "深圳市气象台,id,yesterday",
])
def test_malformed_references_are_refused(ref):
    update = sample("typhoon_red_yantian_update", sent=SENT)
    data = update.replace(update.split(b"<references>")[1].split(b"<")[0], ref.encode())
    err = refused(data)
    assert err.code == "bad_reference" and err.params["value"] == ref


@pytest.mark.parametrize(("field", "value"), [
    ("identifier", "two words"), ("identifier", "a,b"), ("sender", "深圳 市气象台"),
    ("identifier", ""),
])
def test_identifier_and_sender_follow_cap_rules(field, value):
    data = sample(TYPHOON, identifier="plain-id").replace(
        b"<identifier>plain-id</identifier>" if field == "identifier"
        else f"<sender>{SENDER}</sender>".encode(),
        f"<{field}>{value}</{field}>".encode())
    err = refused(data)
    assert (err.code, err.params["field"], err.params["value"]) == (
        "bad_identifier", field, value)


@pytest.mark.parametrize("polygon", [
    "22.55,114.23 22.56,114.24",  # two points
    "22.55,114.23 22.56,114.24 22.55,114.23",  # two distinct points
    "22.55;114.23 22.56,114.24 22.57,114.23",
    "22.55,114.23,0 22.56,114.24 22.57,114.23",
    "nan,114.23 22.56,114.24 22.57,114.23",
    "22.55,214.23 22.56,114.24 22.57,114.23",
    "-91,114.23 22.56,114.24 22.57,114.23",
    "",
])
def test_malformed_polygons_are_refused_naming_them(polygon):
    data = sample("rainstorm_polygon_donghe").replace(
        b"22.550,114.230 22.550,114.245 22.561,114.245 22.561,114.230 22.550,114.230",
        polygon.encode())
    err = refused(data)
    assert err.code == "bad_polygon"
    assert err.params == {"area": "沙头角东和片区", "value": polygon}


def test_an_unclosed_polygon_is_closed():
    data = sample("rainstorm_polygon_donghe").replace(
        b"22.561,114.230 22.550,114.230", b"22.561,114.230")
    (ring,) = parse(data).info.areas[0].polygons
    assert ring[0] == ring[-1] == (22.55, 114.23) and len(ring) == 5


@pytest.mark.parametrize("circle", [
    "22.555,114.237", "22.555,114.237 -1", "22.555,114.237 2 3", "22.555 114.237 2",
    "22.555,114.237 inf", "95,114.237 2", "22.555,114.237 km",
])
def test_malformed_circles_are_refused_naming_them(circle):
    data = sample("hail_circle_donghe").replace(b"22.555,114.237 2.0", circle.encode())
    err = refused(data)
    assert err.code == "bad_circle"
    assert err.params == {"area": "东和社区周边2公里", "value": circle}


def test_long_values_are_cut_in_reasons():
    data = sample(TYPHOON).replace(b"<onset>", b"<onset>" + b"9" * 5000, 1)
    err = refused(data)
    assert err.code == "bad_time" and len(err.params["value"]) <= 80
    assert err.params["value"].endswith("…")


def test_errors_survive_a_trip_through_a_worker_process():
    err = refused(sample("bad_circle"))
    back = pickle.loads(pickle.dumps(err))
    assert (back.code, back.reason, back.params, str(back)) == (
        err.code, err.reason, err.params, str(err))


# --- nothing is fetched or read ----------------------------------------------------

def lxml_alone(data: bytes) -> bytes:
    """What the locked-down lxml parser makes of a document without the first pass: the
    tree as text, or nothing when libxml2 refuses it itself."""
    try:
        return etree.tostring(etree.fromstring(data, cap_parse._lxml_parser()))
    except etree.XMLSyntaxError:
        return b""


@pytest.fixture(scope="module")
def listener():
    """A local HTTP server that records every request a parser might make."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            body = b'<!ENTITY fetched "FETCHED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def test_external_entities_and_dtds_are_never_fetched(listener):
    url, hits = listener
    data = sample("xxe_http", base=url)
    assert refused(data).code == "dtd_forbidden"
    assert not is_cap(data)
    with pytest.raises(CapError):
        parse_feed(data)
    # The second, lxml pass is locked down on its own too (should the first ever change).
    assert b"FETCHED" not in lxml_alone(data)
    assert hits == []


def test_schema_location_hints_are_not_followed(listener):
    url, hits = listener
    data = sample(TYPHOON).replace(
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">',
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'xsi:schemaLocation="urn:oasis:names:tc:emergency:cap:1.2 ' + url.encode()
        + b'/cap.xsd">')
    assert parse(data).identifier == DEFAULT_IDS[TYPHOON]
    assert hits == []


def test_local_files_are_never_read():
    data = sample("xxe_file")
    assert refused(data).code == "dtd_forbidden"
    assert b"root:" not in lxml_alone(data)


def test_billion_laughs_is_refused_without_expanding():
    data = sample("billion_laughs")
    assert refused(data).code == "dtd_forbidden"
    assert len(lxml_alone(data)) < 10 * len(data)


# --- is_cap and feeds --------------------------------------------------------------

def test_is_cap():
    assert is_cap(sample(TYPHOON))
    assert is_cap(sample("bad_time"))  # a CAP alert, if not a valid one
    for name in ("feed", "not_cap", "not_xml", "billion_laughs", "huge"):
        assert not is_cap(sample(name)), name


def test_parse_feed_reads_an_atom_index():
    base = "https://warnings.example.org/sz/"
    entries = parse_feed(sample("feed", sent=SENT, identifier="tag:sz", base=base.rstrip("/")),
                         base_url=base + "feed.xml")
    assert [(e.id, e.url) for e in entries] == [
        ("tag:sz-orange", base + "cap/orange.xml"),  # the application/cap+xml alternate
        ("tag:sz-red", base + "cap/red.xml"),  # the entry's only link
        ("tag:sz-rain", base + "cap/rain.xml"),  # related, with a charset parameter
        ("tag:sz-relative", base + "cap/gale.xml"),  # resolved against the feed's address
    ]  # the file:// link and the web-page-only entry are left out
    assert [e.updated for e in entries] == [
        datetime(2026, 9, 15, 6, 0, tzinfo=UTC), datetime(2026, 9, 15, 8, 30, tzinfo=UTC),
        None, datetime(2026, 9, 15, 8, 30, tzinfo=UTC)]


def test_parse_feed_without_a_base_keeps_relative_links_as_they_are():
    entries = parse_feed(sample("feed", identifier="f"))
    assert [(e.id, e.url) for e in entries][2:] == [
        ("f-rain", "http://127.0.0.1:9/cap/rain.xml"), ("f-relative", "cap/gale.xml")]


@pytest.mark.parametrize("href", [
    "file:///etc/passwd", "ftp://example.org/a.xml", "gopher://example.org/", "data:,x",
    "javascript:alert(1)", "http:///no-host", "//", "",
])
def test_feed_links_to_other_schemes_are_dropped(href):
    atom = f"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e</id>
        <link type="application/cap+xml" href="{href}"/></entry></feed>""".encode()
    assert parse_feed(atom) == []
    assert parse_feed(atom, base_url="https://example.org/feed.xml") == []


def test_parse_feed_reads_an_rss_index():
    rss = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>预警</title>
  <item><title>台风橙色预警信号</title><guid>cap-1</guid>
    <link>https://example.org/page/1.html</link>
    <enclosure url="https://example.org/cap/1.xml" length="2000" type="application/cap+xml"/>
    <pubDate>Tue, 15 Sep 2026 14:00:00 +0800</pubDate></item>
  <item><title>暴雨</title><link>https://example.org/cap/2.xml</link>
    <pubDate>whenever</pubDate></item>
  <item><title>no link</title><guid>cap-3</guid></item>
</channel></rss>""".encode()
    assert parse_feed(rss) == [
        cap_parse.FeedEntry("cap-1", datetime(2026, 9, 15, 6, 0, tzinfo=UTC),
                            "https://example.org/cap/1.xml"),
        cap_parse.FeedEntry("https://example.org/cap/2.xml", None,
                            "https://example.org/cap/2.xml"),
    ]


def test_parse_feed_refusals():
    with pytest.raises(CapError) as info:
        parse_feed(sample(TYPHOON))
    assert info.value.code == "not_feed"
    for name, code in (("billion_laughs", "dtd_forbidden"), ("not_xml", "not_xml"),
                       ("huge", "too_large")):
        with pytest.raises(CapError) as info:
            parse_feed(sample(name))
        assert info.value.code == code
