"""Normalising and matching (pure): the variants people use to hide a word are caught,
and each hit points at the text as typed."""

from __future__ import annotations

import pytest

from server.screening import Matcher, normalise

WORDS = [("诈骗", "block"), ("代开发票", "flag"), ("zhapian", "flag")]


@pytest.mark.parametrize("text, found", [
    ("电话诈骗", "诈骗"),
    ("电话诈 骗", "诈 骗"),  # an inserted space
    ("电话诈　骗", "诈　骗"),  # an ideographic space
    ("电话詐騙", "詐騙"),  # traditional
    ("电话诈*骗", "诈*骗"),  # a symbol
    ("电话诈.·.骗", "诈.·.骗"),
    ("电话诈\u200b骗", "诈\u200b骗"),  # a zero-width space
    ("电话詐\u200b 騙！", "詐\u200b 騙"),
])
def test_variants_of_a_blocked_word_are_caught_where_they_are(text, found):
    hits = Matcher(WORDS).find("notice_body", text)
    assert [(h.word, h.action, h.field) for h in hits] == [("诈骗", "block", "notice_body")]
    assert text[hits[0].start:hits[0].end] == found


def test_full_width_and_capital_latin_letters_fold():
    text = "拨打 ＺＨＡ－ＰＩＡＮ 热线"
    hits = Matcher(WORDS).find("title", text)
    assert [(h.word, text[h.start:h.end]) for h in hits] == [("zhapian", "ＺＨＡ－ＰＩＡＮ")]


def test_every_word_of_a_text_is_found_once_in_order():
    text = "代開發票，诈骗；再次诈骗"
    hits = Matcher(WORDS).find("notice_body", text)
    assert [(h.word, text[h.start:h.end]) for h in hits] == [
        ("代开发票", "代開發票"), ("诈骗", "诈骗"), ("诈骗", "诈骗")]


def test_plain_text_and_empty_lists_find_nothing():
    assert Matcher(WORDS).find("title", "社区议事会今晚八点开始") == []
    assert Matcher([]).find("title", "诈骗") == []
    assert Matcher([("***", "block")]).size == 0  # nothing to look for


def test_words_that_fold_alike_keep_the_stricter_action():
    m = Matcher([("詐騙", "flag"), ("诈骗", "block")])
    assert [h.action for h in m.find("title", "诈骗")] == ["block"]


def test_the_map_points_back_at_each_kept_character():
    folded, origin = normalise("Ａ b\u200b詐")
    assert folded == "ab诈"
    assert origin == [0, 2, 4]


def test_a_video_gives_up_to_five_keyframes_spread_through_it(tmp_path):
    from server.screening import ocr
    from tests import media

    path = media.make_video(tmp_path / "clip.mp4", "libx264", "mp4", frames=48, rate=12)
    frames = ocr.keyframes(path)
    assert 1 <= len(frames) <= ocr.KEYFRAMES
    assert {f.size for f in frames} == {(160, 96)}
    # Different moments: the test clip's colour changes every frame.
    assert len({f.getpixel((5, 5)) for f in frames}) > 1


def test_light_text_on_dark_is_given_to_tesseract_dark_on_white_rows_about_32_px():
    import content as lib
    from server.screening import ocr

    notice = lib.Notice(title="提醒", body="请勿相信电话诈骗")
    image = lib.render_notice(notice, lib.Target(1920, 320, "full")).images[0]
    prepared = ocr.prepare(image)
    assert prepared.mode == "L"
    assert prepared.getpixel((0, 0)) == 255  # white ground
    rows = ocr._rows(prepared)
    assert len(rows) >= 2
    assert all(20 <= bottom - top <= 40 for top, bottom in rows)
