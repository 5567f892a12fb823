from __future__ import annotations

import io
import pickle
from dataclasses import replace

import pytest
from PIL import Image

from content import (
    ContentError,
    FontSpec,
    RenderOptions,
    Target,
    WarningCard,
    render_warning,
    render_warning_pngs,
)
from content.fonts import text_length
from content.themes import SIGNAL_THEMES, TEMPLATES, signal_theme
from content.warning_card import ELLIPSIS, plan_card, shorten

# Written for these tests in the style of Shenzhen's typhoon guidance (防御指引).
GUIDANCE = (
    "1. 进入紧急防风状态，建议停止室外集体活动；2. 居民切勿随意外出，确保老人小孩留在家中"
    "最安全的地方；3. 相关应急处置部门和抢险单位加强值班，实时关注灾情，落实应对措施；"
    "4. 停止高空、水上等户外作业，海上船舶回港避风。"
)
ORANGE = WarningCard(event_zh="台风", level="orange", headline="台风橙色预警信号",
                     instruction=GUIDANCE, sender="深圳市气象台", issued="12月6日 22:10 发布")
SIZES = [(128, 64, "mono"), (128, 64, "full"), (192, 96, "full"), (256, 128, "full"),
         (384, 192, "full"), (768, 128, "full"), (1920, 320, "full"), (1920, 1080, "full"),
         (64, 32, "mono"), (192, 64, "mono"), (384, 192, "mono")]


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio."""
    def lum(c: tuple[int, int, int]) -> float:
        ch = [v / 255 for v in c]
        r, g, b_ = (v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(("w", "h", "mode"), SIZES, ids=[f"{w}x{h}-{m}" for w, h, m in SIZES])
def test_every_size_is_one_page_with_the_whole_headline(cjk_font: FontSpec, w: int, h: int,
                                                        mode: str) -> None:
    r = render_warning(ORANGE, Target(w, h, mode), RenderOptions(font=cjk_font))
    assert r.mode == "pages" and len(r.images) == 1 and len(r.pages) == 1
    im = r.images[0]
    assert im.size == (w, h)
    if mode == "mono":
        assert im.mode == "1"
        assert {v for _, v in im.getcolors()} == {0, 255}
    else:
        assert im.mode == "RGB"
    assert "".join(r.titles[0]) == ORANGE.headline  # whole, maybe over two lines
    assert r.font is not None
    for line in r.pages[0]:
        assert text_length(r.font, r.font_px, line) <= w
    body = "".join(r.pages[0]).replace(" ", "")
    if not body:  # room for the headline only: still the warning, not none at all
        assert (w, h) == (64, 32)
    elif body.endswith(ELLIPSIS):  # shortened: a start of the guidance, cut at a character
        assert GUIDANCE.replace(" ", "").startswith(body[:-1])
    else:
        assert body == GUIDANCE.replace(" ", "")


def test_the_instruction_is_shortened_only_where_it_must_be(cjk_font: FontSpec) -> None:
    opts = RenderOptions(font=cjk_font)
    small = render_warning(ORANGE, Target(128, 64, "mono"), opts)
    assert small.pages[0] and small.pages[0][-1].endswith(ELLIPSIS)
    assert not small.pages[0][-1].endswith("，" + ELLIPSIS)  # trailing comma dropped
    assert small.font_px == 12  # the bitmap strikes of the small modules
    big = render_warning(ORANGE, Target(1920, 1080, "full"), opts)
    assert "".join(big.pages[0]).replace(" ", "") == GUIDANCE.replace(" ", "")
    assert big.font_px >= 1036 // 16  # read from across a hall


def test_shortening_ends_at_a_word_not_at_an_item_number(cjk_font: FontSpec) -> None:
    text = "停止户外活动；2. 关紧门窗，远离窗口"
    # Room for about nine characters: the cut falls in "；2. 关".
    assert shorten(cjk_font, 16, text, 16 * 9, 1) == ["停止户外活动…"]
    assert shorten(cjk_font, 16, "居民切勿随意外出", 16 * 6, 1) == ["居民切勿…"]
    assert shorten(cjk_font, 16, text, 16 * 9, 0) == []


def test_a_long_headline_is_whole_in_even_lines(cjk_font: FontSpec) -> None:
    card = WarningCard(event_zh="台风", level="orange", instruction=GUIDANCE,
                       headline="深圳市气象台发布盐田区台风橙色预警信号")
    r = render_warning(card, Target(256, 128, "full"), RenderOptions(font=cjk_font))
    assert "".join(r.titles[0]) == card.headline
    first, second = r.titles[0]
    assert abs(len(first) - len(second)) <= 3  # not a full line and a stub
    assert r.pages[0]  # and the instruction still has lines


def test_mono_shows_the_level_in_words_on_an_inverted_band(cjk_font: FontSpec) -> None:
    card = WarningCard(event_zh="台风", level="red", headline="深圳市台风预警",
                       instruction="立即停课停工，市民留在安全场所。")
    r = render_warning(card, Target(128, 64, "mono"), RenderOptions(font=cjk_font))
    assert "".join(r.titles[0]) == "【红色】深圳市台风预警"
    im = r.images[0]
    assert im.getpixel((0, 0)) == 255 and im.getpixel((127, 0)) == 255  # lit band
    assert im.getpixel((0, 63)) == 0  # dark below it
    # A message without a headline gets one from its event and level.
    plain = WarningCard(event_zh="暴雨", level="yellow", headline="", instruction="")
    r = render_warning(plain, Target(256, 128, "full"), RenderOptions(font=cjk_font))
    assert r.titles[0] == ["暴雨黄色预警信号"] and r.pages[0] == []
    # The instruction's own label is left out: the card shows what it is.
    labelled = WarningCard(event_zh="暴雨", level="yellow", headline="",
                           instruction="防御指引：注意防范强降雨。")
    r = render_warning(labelled, Target(256, 128, "full"), RenderOptions(font=cjk_font))
    assert "".join(r.pages[0]) == "注意防范强降雨。"


def test_colours_contrast_and_yellow_takes_dark_text(cjk_font: FontSpec) -> None:
    for level, theme in SIGNAL_THEMES.items():
        assert _contrast(theme.text, theme.background) >= 4.5, level
        assert _contrast(theme.accent, theme.background) >= 4.5, level
    assert signal_theme(None) == TEMPLATES["warning"]
    yellow = WarningCard(event_zh="暴雨", level="yellow", headline="暴雨黄色预警信号",
                         instruction=GUIDANCE)
    im = render_warning(yellow, Target(384, 192, "full"), RenderOptions(font=cjk_font)).images[0]
    colours = {c for _, c in im.getcolors(maxcolors=1 << 16)}
    assert im.getpixel((0, 0)) == SIGNAL_THEMES["yellow"].background
    assert (0, 0, 0) in colours and (255, 255, 255) not in colours


@pytest.mark.parametrize(("w", "h", "mode", "icon", "side"), [
    (128, 64, "mono", False, False), (128, 64, "full", False, False),
    (192, 64, "mono", False, False), (64, 32, "mono", False, False),
    (256, 128, "full", True, False), (384, 192, "full", True, False),
    (1920, 1080, "full", True, False), (768, 128, "full", True, True),
    (1920, 320, "full", True, True),
])
def test_icon_placement(cjk_font: FontSpec, w: int, h: int, mode: str, icon: bool,
                        side: bool) -> None:
    target = Target(w, h, mode)
    plan, _texts = plan_card(ORANGE, target, RenderOptions(font=cjk_font))
    assert (plan.icon_box is not None) == icon
    if plan.icon_box is None:
        return
    assert plan.side == side
    x, y, s = plan.icon_box
    if side:  # at the left, full height
        assert x == y and s == h - 2 * y
    else:  # below the headline
        assert y > plan.head_box[1] + plan.head_box[3]
    # Drawn: a square mostly in the text colour (black on orange), the name inside it.
    im = render_warning(ORANGE, target, RenderOptions(font=cjk_font)).images[0]
    square = im.crop((x, y, x + s, y + s))
    dark = sum(n for n, c in square.getcolors(maxcolors=1 << 16) if c == (0, 0, 0))
    assert 0.5 < dark / (s * s) < 0.97


def test_small_panels_drop_the_sender_and_icon_before_the_text_size(cjk_font: FontSpec
                                                                    ) -> None:
    opts = RenderOptions(font=cjk_font)
    big = render_warning(ORANGE, Target(384, 192, "full"), opts)
    assert big.footer_px is not None and big.font_px >= 16
    small = render_warning(ORANGE, Target(128, 64, "full"), opts)
    assert small.footer_px is None
    # A short message keeps everything where there is room.
    short = WarningCard(event_zh="台风", level="blue", headline="台风蓝色预警信号",
                        instruction="注意防风。", sender="深圳市气象台", issued="22:10 发布")
    r = render_warning(short, Target(1920, 320, "full"), opts)
    assert r.footer_px is not None and r.pages[0] == ["注意防风。"]


def test_refusals(cjk_font: FontSpec) -> None:
    opts = RenderOptions(font=cjk_font)
    with pytest.raises(ContentError) as err:
        render_warning(ORANGE, Target(16, 16, "mono"), opts)
    assert err.value.code == "notice_does_not_fit"
    assert err.value.params["reason"] == "headline_does_not_fit"
    long_head = WarningCard(event_zh="预警", level="red", instruction="",
                            headline="深圳市气象台发布台风红色预警信号请全市市民立即避险")
    with pytest.raises(ContentError):  # no event to make a short headline from
        render_warning(long_head, Target(64, 32, "mono"), opts)
    with pytest.raises(ContentError) as err:
        render_warning(WarningCard("台风", "purple", "", ""), Target(128, 64), opts)
    assert err.value.code == "invalid_template"
    with pytest.raises(ContentError) as err:
        render_warning(ORANGE, Target(128, 64, "sepia"), opts)
    assert err.value.code == "invalid_target"
    with pytest.raises(ContentError) as err:
        render_warning(WarningCard("\U0001f300", None, "", ""), Target(256, 128), opts)
    assert err.value.code == "notice_missing_glyphs"


def test_characters_the_font_lacks_do_not_stop_a_warning(cjk_font: FontSpec) -> None:
    card = WarningCard("台风", "red", "\U0001f300台风红色预警", "请避险\U0001f300，留在室内。",
                       sender="气象台\U0001f300")
    r = render_warning(card, Target(384, 192), RenderOptions(font=cjk_font))
    assert r.titles == [["台风红色预警信号"]]  # made from the event and level
    assert "".join(r.pages[0]) == "请避险，留在室内。"


def test_render_warning_pngs_is_a_job_of_plain_values(cjk_font: FontSpec) -> None:
    card = {"event_zh": "台风", "level": "red", "headline": "台风红色预警信号",
            "instruction": "立即停课停工。", "sender": "深圳市气象台", "issued": "22:40 发布"}
    out = render_warning_pngs([(128, 64, "mono"), (16, 16, "full"), (384, 192, "full")], card,
                              cjk_font.path + f"#{cjk_font.index}")
    out = pickle.loads(pickle.dumps(out))  # it travels between processes
    assert isinstance(out[1], ContentError) and out[1].code == "notice_does_not_fit"
    for got, (w, h) in ((out[0], (128, 64)), (out[2], (384, 192))):
        assert isinstance(got, tuple)
        pngs, mode, font_px, widths, speed = got
        assert mode == "pages" and len(pngs) == 1 and widths == [w] and speed is None
        assert font_px >= 12
        assert Image.open(io.BytesIO(pngs[0])).size == (w, h)


def test_small_modules_show_the_short_headline_where_the_official_one_crowds_them_out(
        cjk_font: FontSpec) -> None:
    opts = RenderOptions(font=cjk_font)
    card = WarningCard(event_zh="台风", level="orange", instruction=GUIDANCE,
                       headline="深圳市气象台发布盐田区台风橙色预警信号")
    small = render_warning(card, Target(128, 64, "mono"), opts)
    assert small.titles[0] == ["台风橙色预警信号"]
    assert len(small.pages[0]) >= 2  # the instruction gets the lines the long one took
    big = render_warning(card, Target(384, 192, "full"), opts)
    assert "".join(big.titles[0]) == card.headline  # room for the official one
    tiny = render_warning(replace(card, headline="深圳市气象台发布台风红色预警信号请全市市民立即避险",
                                  level="red"), Target(64, 32, "mono"), opts)
    assert "".join(tiny.titles[0]) == "台风红色预警信号"  # the whole one cannot fit
