from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from content import ContentError, FontSpec, Notice, RenderOptions, Target, render_notice
from content.fonts import (
    bitmap_strikes,
    draw_text,
    font_cmap,
    missing_glyphs,
    pixel_face,
    text_length,
)
from content.linebreak import NO_LINE_END, NO_LINE_START, word_ends

FLEET = [(1920, 320), (960, 160), (384, 192), (256, 128), (192, 96), (128, 64)]
HOTLINE = "便民热线 0755-12345678"
WATER = Notice(
    title="停水通知",
    body="因市政管网维修，本小区将于12月3日（周三）8:00至18:00停水，请居民提前做好储水准备。"
    "如有疑问请联系物业服务中心（WiFi：Community-Free）。",
    footer=HOTLINE,
    template="warning",
)


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _assert_kinsoku(lines: list[str]) -> None:
    for line in lines:
        assert line[0] not in NO_LINE_START, f"line starts with forbidden punctuation: {line!r}"
        assert line[-1] not in NO_LINE_END, f"line ends with an opening bracket: {line!r}"


@pytest.mark.parametrize("mode", ["full", "mono"])
@pytest.mark.parametrize(("w", "h"), FLEET, ids=[f"{w}x{h}" for w, h in FLEET])
@pytest.mark.parametrize("template", ["notice", "warning", "convenience", "event"])
def test_fleet_sizes(cjk_font: FontSpec, w: int, h: int, mode: str, template: str) -> None:
    n = Notice(title=WATER.title, body=WATER.body, footer=HOTLINE, template=template)
    r = render_notice(n, Target(w, h, mode))
    assert r.mode == "pages" and r.images
    for im in r.images:
        assert im.size == (w, h)
        if mode == "mono":
            assert im.mode == "1"
            colours = {v for _, v in im.getcolors()}
            assert colours == {0, 255}  # lit text on black, nothing in between
        else:
            assert im.mode == "RGB"
            assert len(im.getcolors(maxcolors=1 << 16)) > 2  # anti-aliased colour text
    assert r.font_px >= 16
    assert r.line_count == sum(len(p) for p in r.pages)
    for page in r.pages:
        _assert_kinsoku(page)
    body_text = "".join("".join(p) for p in r.pages).replace(" ", "")
    assert body_text == WATER.body.replace(" ", "")


@pytest.mark.parametrize("mode", ["full", "mono"])
@pytest.mark.parametrize(("w", "h"), FLEET, ids=[f"{w}x{h}" for w, h in FLEET])
def test_numbers_and_latin_words_are_not_split(cjk_font: FontSpec, w: int, h: int,
                                               mode: str) -> None:
    body = "电梯维修期间请走楼梯，咨询请拨0755-12345678或连接WiFi网络Community查看通知。"
    r = render_notice(Notice(body=body, title="通知"), Target(w, h, mode),
                      RenderOptions(allow_scroll=False))
    lines = [line for page in r.pages for line in page]
    for word in ("0755-12345678", "WiFi", "Community"):
        holders = [line for line in lines if word in line]
        assert len(holders) == 1, f"{word!r} was split across lines: {lines}"
    _assert_kinsoku(lines)


def test_mono_has_no_antialiasing_but_full_does(cjk_font: FontSpec) -> None:
    mono = render_notice(WATER, Target(256, 128, "mono")).images[0]
    full = render_notice(WATER, Target(256, 128, "full")).images[0]
    assert len(mono.convert("L").getcolors()) == 2
    assert len(full.getcolors(maxcolors=1 << 16)) > 8


def test_short_notice_fills_the_panel_with_large_text(cjk_font: FontSpec) -> None:
    r = render_notice(Notice(body="电梯检修"), Target(384, 192))
    assert r.mode == "pages" and len(r.images) == 1
    assert r.font_px >= 80  # four characters on 384 px: big, not the 16 px minimum


def test_larger_panels_get_larger_text(cjk_font: FontSpec) -> None:
    sizes = [render_notice(WATER, Target(w, h)).font_px for w, h in [(192, 96), (384, 192),
                                                                     (960, 160), (1920, 320)]]
    assert sizes == sorted(sizes)


def test_rendering_is_deterministic(cjk_font: FontSpec) -> None:
    for target in (Target(1920, 320), Target(192, 96, "mono")):
        a = [_png(im) for im in render_notice(WATER, target).images]
        b = [_png(im) for im in render_notice(WATER, target).images]
        assert a == b


def test_warning_uses_red_background(cjk_font: FontSpec) -> None:
    im = render_notice(WATER, Target(960, 160)).images[0].convert("RGB")
    assert im.getpixel((0, im.height // 2)) == (176, 0, 0)


def test_long_text_paginates_on_small_panel(cjk_font: FontSpec) -> None:
    r = render_notice(Notice(body=WATER.body * 2, title="通知", footer=HOTLINE),
                      Target(192, 96, "mono"))
    assert r.mode == "pages" and len(r.images) > 1
    assert all(im.size == (192, 96) for im in r.images)
    assert r.font_px >= 16
    for page in r.pages:
        _assert_kinsoku(page)


@pytest.mark.parametrize("mode", ["full", "mono"])
def test_long_text_scrolls_on_wide_short_panel(cjk_font: FontSpec, mode: str) -> None:
    # 1920x320 holds ~1,600 characters at 16 px, so make it longer than that.
    r = render_notice(Notice(body=WATER.body * 25, title="通知", footer=HOTLINE),
                      Target(1920, 320, mode))
    assert r.mode == "scroll" and len(r.images) == 1
    strip = r.images[0]
    assert strip.height == 320 and strip.width > 1920
    assert r.scroll_speed_px_s is not None and r.scroll_speed_px_s > 0
    assert r.font_px >= 16
    if mode == "mono":
        assert {v for _, v in strip.getcolors()} == {0, 255}


def test_scroll_when_minimum_size_is_raised(cjk_font: FontSpec) -> None:
    # A street-facing strip wants at least 64 px characters: 4x the text no longer fits.
    r = render_notice(Notice(body=WATER.body * 4), Target(960, 160),
                      RenderOptions(min_font_px=64))
    assert r.mode == "scroll" and r.images[0].height == 160 and r.font_px >= 64
    # 384x192 is 2:1, not a strip: it paginates instead.
    r = render_notice(Notice(body=WATER.body), Target(384, 192),
                      RenderOptions(min_font_px=40))
    assert r.mode == "pages" and len(r.images) > 1 and r.font_px >= 40


def test_scroll_can_be_disabled(cjk_font: FontSpec) -> None:
    r = render_notice(Notice(body=WATER.body * 4), Target(1920, 320),
                      RenderOptions(allow_scroll=False))
    assert r.mode == "pages" and all(im.size == (1920, 320) for im in r.images)


def test_emoji_is_refused_listing_the_characters(cjk_font: FontSpec) -> None:
    with pytest.raises(ContentError) as exc:
        render_notice(Notice(body="周末社区义卖😀欢迎参加🎉"), Target(256, 128))
    assert exc.value.code == "notice_missing_glyphs"
    assert exc.value.params["characters"] == ["😀", "🎉"]
    assert exc.value.params["codepoints"] == ["U+1F600", "U+1F389"]


def test_rare_character_missing_from_font_is_refused(cjk_font: FontSpec) -> None:
    rare = "\U00020bb7"  # 𠮷 (CJK Ext. B), not in WenQuanYi
    assert ord(rare) not in font_cmap(cjk_font), "test premise: the font must lack this char"
    with pytest.raises(ContentError) as exc:
        render_notice(Notice(title="通知", body=f"{rare}野家开业"), Target(256, 128))
    assert exc.value.code == "notice_missing_glyphs"
    assert exc.value.params["characters"] == [rare]


def test_every_character_of_the_sample_is_in_the_font(cjk_font: FontSpec) -> None:
    assert missing_glyphs(WATER.title + WATER.body + HOTLINE, cjk_font) == []


def test_text_too_long_for_any_size(cjk_font: FontSpec) -> None:
    with pytest.raises(ContentError) as exc:
        render_notice(Notice(body="社区公告" * 1500), Target(128, 64))
    assert exc.value.code == "notice_does_not_fit"
    assert exc.value.params["reason"] == "too_many_pages"
    assert exc.value.params["min_font_px"] == 12  # tried down to a small module's floor
    assert exc.value.params["pages_needed"] > exc.value.params["max_pages"]


def test_panel_shorter_than_minimum_size(cjk_font: FontSpec) -> None:
    with pytest.raises(ContentError) as exc:
        render_notice(Notice(body=WATER.body), Target(400, 12))
    assert exc.value.code == "notice_does_not_fit"
    assert exc.value.params["reason"] == "panel_too_short"


def test_minimum_size_is_configurable(cjk_font: FontSpec) -> None:
    r = render_notice(Notice(body=WATER.body), Target(256, 128), RenderOptions(min_font_px=24))
    assert r.font_px >= 24


@pytest.mark.parametrize("body", ["", "   ", "\n\n", "\u200b"])
def test_empty_body(cjk_font: FontSpec, body: str) -> None:
    with pytest.raises(ContentError) as exc:
        render_notice(Notice(title="通知", body=body), Target(256, 128))
    assert exc.value.code == "notice_empty_body"


def test_unknown_template_and_bad_target(cjk_font: FontSpec) -> None:
    with pytest.raises(ContentError) as exc:
        render_notice(Notice(body="x", template="party"), Target(256, 128))
    assert exc.value.code == "invalid_template"
    with pytest.raises(ContentError) as exc:
        render_notice(Notice(body="x"), Target(256, 128, "rgbw"))
    assert exc.value.code == "invalid_target"


def test_png_pages_are_true_size(cjk_font: FontSpec) -> None:
    r = render_notice(WATER, Target(128, 64, "mono"))
    for data in r.png_pages():
        assert Image.open(io.BytesIO(data)).size == (128, 64)


def test_signage_font_env_is_honoured(monkeypatch: pytest.MonkeyPatch,
                                      cjk_font: FontSpec) -> None:
    monkeypatch.setenv("SIGNAGE_FONT", f"{cjk_font.path}#1")  # e.g. the Mono face of the .ttc
    r = render_notice(Notice(body="测试"), Target(128, 64))
    assert r.font == FontSpec(cjk_font.path, 1)


def test_bad_signage_font_env_falls_back_to_fontconfig(monkeypatch: pytest.MonkeyPatch,
                                                       cjk_font: FontSpec) -> None:
    monkeypatch.setenv("SIGNAGE_FONT", "/nonexistent/font.ttf")
    assert render_notice(Notice(body="测试"), Target(128, 64)).font == cjk_font


# --- notices that fit every screen (issue 21) ------------------------------------------

DONGHE = Notice(
    title="车库停水及交通管制通知",
    body="因东和花园小区地下车库消防管道改造，定于本月18日（周六）上午9:00至下午5:00暂停地下车库"
    "供水，届时车库内洗车点及消防栓将暂停使用，请各位车主提前做好安排。\n"
    "施工期间，“东和花园”南门车行道将临时改为单向通行，请车辆减速慢行，服从现场工作人员"
    "指挥，电动车请勿停放在消防通道内。\n"
    "如有疑问，请联系东和社区党群服务中心或物业服务中心，咨询电话0755-12345678。"
    "感谢各位居民的理解与配合！",
)


def test_a_long_notice_pages_on_a_small_mono_panel_with_the_title_on_every_page(
        cjk_font: FontSpec) -> None:
    r = render_notice(DONGHE, Target(128, 64, "mono"))
    assert r.mode == "pages" and 2 <= len(r.images) <= 10
    assert r.font_px == 12  # below the usual 16: the panel's own floor, its bitmap face
    assert r.font is not None and 12 in bitmap_strikes(r.font)
    assert all(im.size == (128, 64) and im.mode == "1" for im in r.images)
    assert "".join("".join(p) for p in r.pages) == DONGHE.body.replace("\n", "")
    n = len(r.pages)
    for k, heads in enumerate(r.titles[1:], 2):  # continuation pages: title and page mark
        assert len(heads) == 1 and heads[0].endswith(f"({k}/{n})")
        assert heads[0].startswith("车库停水")
    for page in r.pages:
        _assert_kinsoku(page)


def test_big_panels_keep_the_usual_minimum(cjk_font: FontSpec) -> None:
    for w, h in ((384, 192), (1920, 320)):
        assert render_notice(DONGHE, Target(w, h)).font_px >= 16
    # A panel taller than the small modules never goes below 16 px, mono or not.
    for mode in ("full", "mono"):
        with pytest.raises(ContentError) as exc:
            render_notice(Notice(body="社区公告" * 500), Target(384, 192, mode))
        assert exc.value.params["min_font_px"] == 16


def test_lines_break_only_between_segmented_words(cjk_font: FontSpec) -> None:
    body = "东和花园居民请注意，东和花园南门今日施工，东和花园北门照常开放。" * 2
    for w in (128, 140, 150, 170, 192, 256):
        r = render_notice(Notice(body=body), Target(w, 64, "mono"),
                          RenderOptions(allow_scroll=False))
        lines = [line for page in r.pages for line in page]
        ends = word_ends(body)
        at = 0
        for line in lines[:-1]:
            at += len(line)
            assert at in ends, f"{w}px: a line ends inside a word: {lines}"
            assert not line.endswith("花"), lines  # never 东和花|园


def test_full_width_quotes_get_an_em_and_do_not_touch_the_next_character(
        cjk_font: FontSpec) -> None:
    face = pixel_face(cjk_font)
    for spec in (cjk_font, face):
        assert text_length(spec, 12, "园”消") == 36
        assert text_length(spec, 12, "“东") == 24
        im = Image.new("1", (48, 16), 0)
        d = ImageDraw.Draw(im)
        d.fontmode = "1"
        draw_text(d, (0, 0), "园”消", spec, 12, 255)
        quote = im.crop((12, 0, 24, 16)).getbbox()
        assert quote is not None, "the closing quote was drawn"
        assert quote[2] <= 12 - 3, "the quote's ink leaves a gap before the next character"
        assert im.crop((24, 0, 36, 16)).getbbox() is not None
