"""The seed's situation: 沙头角街道, four communities, 76 LED terminals in 东和.

Idempotent: running it twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Building, ColourMode, Community, Street, Terminal, TerminalTag

STREET = "沙头角街道"
COMMUNITIES = ("沙头角", "东和", "田心", "桥东")

# (estate, address, number of building units) in 东和社区: 76 units in all.
DONGHE_ESTATES = (
    ("海滨花园", "深圳市盐田区沙头角东和路8号", 12),
    ("东和花园", "深圳市盐田区沙头角东和路22号", 10),
    ("诗宁大厦", "深圳市盐田区沙深路33号", 2),
    ("金融路住宅区", "深圳市盐田区沙头角金融路", 14),
    ("东埔海景花园", "深圳市盐田区海景二路", 8),
    ("沙头角保税区宿舍", "深圳市盐田区沙盐路", 6),
    ("鸿景楼", "深圳市盐田区东和路45号", 4),
    ("海山路住宅", "深圳市盐田区海山路", 10),
    ("东和新村", "深圳市盐田区东和路东", 10),
)

# A realistic mix: most lobbies have a 384x192 full-colour panel, old lobbies a
# 128x64 single-colour module, estate gates a 1920x320 strip.
def _panel(estate_index: int, unit: int) -> tuple[int, int, ColourMode, str, list[str]]:
    if unit == 1:
        return 1920, 320, ColourMode.full, "小区大门", ["大门", "户外"]
    if estate_index in (5, 6):
        return 128, 64, ColourMode.mono, "电梯厅", ["电梯厅", "单色"]
    if unit % 4 == 0:
        return 256, 128, ColourMode.full, "一楼大堂", ["大堂"]
    if unit % 5 == 0:
        return 192, 96, ColourMode.full, "电梯厅", ["电梯厅"]
    return 384, 192, ColourMode.full, "一楼大堂", ["大堂"]


def ensure_street(s: Session, name: str = STREET) -> Street:
    street = s.scalar(select(Street).where(Street.name == name))
    if street is None:
        street = Street(name=name)
        s.add(street)
        s.flush()
    return street


def seed(s: Session) -> dict[str, int]:
    street = ensure_street(s)
    communities = {}
    for name in COMMUNITIES:
        c = s.scalar(select(Community).where(Community.street_id == street.id,
                                             Community.name == name))
        if c is None:
            c = Community(street_id=street.id, name=name)
            s.add(c)
            s.flush()
        communities[name] = c
    donghe = communities["东和"]
    created = 0
    for i, (estate, address, units) in enumerate(DONGHE_ESTATES):
        for unit in range(1, units + 1):
            bname = f"{estate}{unit}栋" if units > 2 else f"{estate}{'AB'[unit - 1]}座"
            b = s.scalar(select(Building).where(Building.community_id == donghe.id,
                                                Building.name == bname))
            if b is None:
                b = Building(community_id=donghe.id, name=bname, address=address)
                s.add(b)
                s.flush()
            if not b.terminals:
                w, h, mode, location, tags = _panel(i, unit)
                s.add(Terminal(building_id=b.id, name=f"{bname}-LED", location=location,
                               width=w, height=h, colour_mode=mode,
                               tag_rows=[TerminalTag(tag=t) for t in tags]))
                created += 1
    s.flush()
    _seed_warnings(s, street, donghe)
    total = len(s.scalars(select(Terminal.id).join(Building)
                          .where(Building.community_id == donghe.id)).all())
    return {"communities": len(communities), "terminals_created": created, "terminals": total}


# --- early warnings: where the demo is, and who warns it ------------------------------

# Plausible division codes, stated as demo data: 盐田区 is 440308 (GB/T 2260); the 9- and
# 12-digit street and community codes follow the statistical division scheme.
STREET_CODE = "440308003000"  # 沙头角街道
DONGHE_CODE = "440308003005"  # 东和社区
DONGHE_POSITION = (22.555, 114.237)  # WGS 84, the middle of 东和
WARNING_SOURCE = "深圳市气象台"


def _seed_warnings(s: Session, street: Street, donghe: Community) -> None:
    """Codes on the street and 东和, a position for every 东和 building (about 11 m apart,
    ten to a row), and a webhook source with the default policy. What an admin changed
    is kept."""
    from server.models import WarningSource
    from server.services.access import Actor
    from server.services.warnings import sources

    street.area_code = street.area_code or STREET_CODE
    donghe.area_code = donghe.area_code or DONGHE_CODE
    lat0, lon0 = DONGHE_POSITION
    buildings = s.scalars(select(Building).where(Building.community_id == donghe.id)
                          .order_by(Building.id))
    for i, b in enumerate(buildings):
        if b.latitude is None and b.longitude is None:
            b.latitude = round(lat0 + (i // 10 - 4) * 0.0001, 6)
            b.longitude = round(lon0 + (i % 10 - 5) * 0.0001, 6)
    if s.scalar(select(WarningSource.id).where(WarningSource.street_id == street.id,
                                               WarningSource.name == WARNING_SOURCE)) is None:
        sources.create_source(s, Actor.system(street.id, "demo"),
                              sources.SourceIn(name=WARNING_SOURCE, kind="webhook"))
    s.flush()


# --- demo content: notices, a clip, a playlist and schedules for all of 东和 -----------

DEMO_PLAYLIST = "东和社区日常播放"
# (topic, template, heading, body): one approved notice per topic. With the clip
# (党建宣传) the library covers 36 topics, the seed's "共播放36个主题信息". Bodies stay
# short enough for the 128x64 panels.
DEMO_NOTICES = (
    ("防台风", "warning", "台风预警", "台风“海葵”预计今晚登陆，请关好门窗，收好阳台物品，非必要不外出。"),
    ("垃圾分类", "convenience", "垃圾分类", "厨余垃圾请于每晚7点至9点投放到楼下分类点，谢谢配合。"),
    ("便民服务", "notice", "停水通知", "因管道维修，6月3日9:00至17:00停水，请提前储水。"),
    ("社区活动", "event", "邻里节", "本周六上午在党群服务中心举办“左邻右里”邻里节，欢迎参加。"),
    ("通知公告", "notice", "电梯年检", "本月15日起各栋电梯依次年检，每部停用约2小时，敬请谅解。"),
    ("安全宣传", "warning", "高空抛物", "高空抛物是违法行为，危害他人安全，请管好自家阳台物品。"),
    ("文明创建", "notice", "文明城市", "共建文明城市，不乱扔垃圾、不乱停车、不占用消防通道。"),
    ("反诈宣传", "warning", "谨防诈骗", "陌生来电索要验证码、要求转账的都是诈骗，请拨打96110咨询。"),
    ("消防安全", "warning", "消防安全", "楼道严禁堆放杂物，电动车禁止入户充电，发现火情请拨119。"),
    ("疫苗接种", "notice", "疫苗接种", "社区健康服务中心周二、周四上午提供流感疫苗接种，请带身份证。"),
    ("政策宣传", "notice", "政策解读", "深圳市积分入户新政已实施，详情可到党群服务中心咨询。"),
    ("平安建设", "notice", "平安东和", "义警巡逻队每晚巡查小区，欢迎居民报名加入平安志愿者。"),
    ("禁毒宣传", "warning", "珍爱生命", "远离毒品，守护家庭。发现涉毒线索请拨打110举报。"),
    ("健康教育", "convenience", "健康讲座", "本周三下午社康中心举办高血压防治讲座，欢迎中老年居民参加。"),
    ("爱国卫生", "convenience", "卫生大扫除", "本周末开展爱国卫生运动，请清理家中积水，防止蚊虫滋生。"),
    ("文明养犬", "notice", "文明养犬", "遛狗请牵绳，及时清理犬只粪便，烈性犬禁止饲养。"),
    ("燃气安全", "warning", "燃气安全", "使用燃气时请保持通风，人走关阀，闻到异味请立即开窗并报修。"),
    ("电动车安全", "warning", "电动车充电", "电动自行车请到集中充电点充电，严禁推入电梯和楼道。"),
    ("防溺水", "warning", "防溺水", "暑期请看管好孩子，不到海边、水库私自游泳。"),
    ("交通安全", "notice", "交通安全", "沙深路口学生上下学高峰车流大，请减速慢行、礼让行人。"),
    ("法治宣传", "notice", "法律咨询", "每周五下午驻点律师在党群服务中心提供免费法律咨询。"),
    ("敬老爱老", "event", "长者饭堂", "东和长者饭堂已开放，60岁以上老人凭卡就餐可享优惠。"),
    ("志愿服务", "event", "志愿者招募", "党群志愿服务驿站招募志愿者，可在“i志愿”平台报名。"),
    ("民生微实事", "notice", "民生微实事", "2025年民生微实事项目征集中，您的建议可投入社区意见箱。"),
    ("就业服务", "convenience", "就业招聘", "本月20日盐田区举办招聘会，岗位信息可到社区工作站查询。"),
    ("社保医保", "convenience", "医保缴费", "城乡居民医保缴费已开始，可通过“i深圳”App办理。"),
    ("退役军人服务", "notice", "退役军人", "退役军人服务站设在党群服务中心，工作日均可办理相关业务。"),
    ("妇女儿童", "event", "四点半课堂", "四点半课堂为双职工家庭孩子提供课后托管，请到社区报名。"),
    ("心理健康", "convenience", "心理咨询", "社区心理服务室每周六开放，提供免费心理咨询，严格保密。"),
    ("食品安全", "notice", "食品安全", "购买食品请认准正规商户，发现问题食品请拨打12315投诉。"),
    ("控烟宣传", "notice", "控烟", "电梯、楼道等室内公共场所禁止吸烟，违者最高罚款500元。"),
    ("节水节电", "convenience", "节约用水", "随手关紧水龙头，一水多用，共建节水型社区。"),
    ("防汛防涝", "warning", "防汛提示", "暴雨期间请勿在地下车库停留，低洼处车辆请及时转移。"),
    ("登革热防控", "warning", "防蚊灭蚊", "清除积水、防蚊灭蚊是预防登革热的关键，请每周清理一次。"),
    ("征兵宣传", "notice", "征兵报名", "2025年征兵网上报名已开始，适龄青年可登录全国征兵网报名。"),
)
# Default topics plus the ones the notices above use: 36 that play, and 紧急广播
# (broadcasts' own topic), which a quiet week does not.
DEMO_TOPICS = tuple(dict.fromkeys(
    [name for name, *_ in DEMO_NOTICES] + ["党建宣传"]))
# Lobby screens light up for the morning and evening rush and stay dark otherwise, the
# way 东和 runs them to save power: 07:00-09:30 and 17:30-21:30, 6.5 hours a day.
SCREEN_OFF_WINDOWS = [("09:30", "17:30"), ("21:30", "07:00")]
NOTICE_SECONDS = 15


def _demo_clip(path) -> None:
    """A 4-second H.264 clip made on the spot, so the demo needs no media files."""
    import av
    from PIL import Image, ImageDraw

    with av.open(str(path), "w", format="mp4") as c:
        stream = c.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 384, 192, "yuv420p"
        for i in range(48):
            im = Image.new("RGB", (384, 192), (20, 60 + i * 3, 140))
            ImageDraw.Draw(im).rectangle([i * 7, 70, i * 7 + 50, 120], fill=(255, 200, 0))
            for packet in stream.encode(av.VideoFrame.from_image(im)):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)


def seed_content(s: Session, store, font: str | None = None) -> dict[str, int]:
    """Approved notices and a clip, played all day in every 东和 lobby, with a filler."""
    import tempfile
    from pathlib import Path

    import content as lib
    from server.models import Playlist, Topic, User
    from server.services import content as content_svc
    from server.services import schedules, topics
    from server.services.access import Actor

    street = ensure_street(s)
    existing = s.scalar(select(Playlist).where(Playlist.name == DEMO_PLAYLIST))
    if existing is not None:
        return {"playlist": existing.id, "created": 0}
    topics.ensure_defaults(s, street.id)
    known = set(s.scalars(select(Topic.name).where(Topic.street_id == street.id)))
    s.add_all(Topic(street_id=street.id, name=n) for n in DEMO_TOPICS if n not in known)
    s.flush()
    donghe = s.scalar(select(Community).where(Community.name == "东和",
                                              Community.street_id == street.id))
    editor = Actor.of(s.scalar(select(User).where(User.username == "donghe_editor")))
    reviewer = Actor.of(s.scalar(select(User).where(User.username == "donghe_reviewer")))
    topic = {t.name: t.id for t in s.scalars(select(Topic).where(Topic.street_id == street.id))}
    # The layout first: each notice is then rendered for its main region as it is made, and
    # a server started on the demo does not re-render (and re-send) them all at once.
    made = _seed_layout(s, store, editor, reviewer, donghe.id, topic["便民服务"], font)
    items = []
    for name, template, heading, body in DEMO_NOTICES:
        meta = content_svc.Meta(title=heading, topic_id=topic[name], community_id=donghe.id,
                                duration_s=NOTICE_SECONDS)
        text = content_svc.NoticeText(title=heading, body=body, footer="便民热线 0755-25550000",
                                      template=template)
        items.append(content_svc.create_notice(s, editor, store, meta, text, font))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "宣传片.mp4"
        _demo_clip(clip)
        with clip.open("rb") as f:
            items.append(content_svc.upload(
                s, editor, store, f, clip.name,
                content_svc.Meta(title="社区宣传片", topic_id=topic["党建宣传"],
                                 community_id=donghe.id), lib.Limits()))
    hotline = content_svc.create_notice(
        s, editor, store,
        content_svc.Meta(title="便民热线", topic_id=topic["便民服务"], community_id=donghe.id,
                         duration_s=15),
        content_svc.NoticeText(title="东和社区", body="便民热线 0755-25550000，24小时为您服务。",
                               template="convenience"), font)
    for item in [*items, hotline]:
        content_svc.submit(s, editor, item.id)
        content_svc.approve(s, reviewer, item.id)
    playlist = schedules.create_playlist(
        s, editor, DEMO_PLAYLIST, [schedules.EntryIn(i.id) for i in items], donghe.id)
    filler = schedules.create_playlist(s, editor, "便民热线垫片",
                                       [schedules.EntryIn(hotline.id)], donghe.id)
    target = [schedules.TargetIn("community", donghe.id)]
    schedules.create_schedule(s, editor, name="全天播放", playlist_id=playlist.id,
                              kind="normal", recurrence=schedules.Recurrence(), targets=target)
    schedules.create_schedule(s, editor, name="便民热线垫片", playlist_id=filler.id,
                              kind="filler", recurrence=schedules.Recurrence(), targets=target)
    _seed_mandate(s, street.id, topic["反诈宣传"])
    return {"playlist": playlist.id, "created": len(items) + 1 + made}


def _seed_mandate(s: Session, street_id: int, topic_id: int) -> None:
    """反诈宣传 10 minutes in every hour, 08:00-22:00, this month, on every screen of the
    street, checked only: the mandate pages, the warnings and the report have something
    to show on a fresh demo."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from server.config import PEOPLE_TZ
    from server.services import mandates, schedules
    from server.services.access import Actor

    first = datetime.now(ZoneInfo(PEOPLE_TZ)).date().replace(day=1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    mandates.create(s, Actor.system(street_id, "demo"), mandates.MandateIn(
        name="反诈宣传", authority="区委政法委", topic_id=topic_id, share_kind="minutes",
        share=10, start_date=first, end_date=last, targets=[schedules.TargetIn("street")]))


DEMO_LAYOUT = "东和标准版式"
DEMO_TICKER = ("今日14:00-18:00东和花园停水，请提前储水。",
               "冬季用电高峰，请勿在楼道给电动车充电。")


def _title_bar(path, size: tuple[int, int], font: str | None) -> None:
    """The community's title bar, drawn on the spot (the demo needs no media files)."""
    from PIL import Image, ImageDraw

    from content.fonts import find_cjk_font, load_font

    w, h = size
    im = Image.new("RGB", size, (178, 34, 34))
    face = load_font(find_cjk_font(font), h * 3 // 4)
    ImageDraw.Draw(im).text((h // 3, h // 8), "东和社区 · 便民信息", font=face,
                            fill=(255, 210, 0))
    im.save(path, "PNG")


def _seed_layout(s: Session, store, editor, reviewer, community_id: int, topic_id: int,
                 font: str | None) -> int:
    """The standard layout on every 东和 screen: a title bar, the main playlist, a standing
    滚动字幕 and the date and time. Returns how many content items it made."""
    import tempfile
    from pathlib import Path

    import content as lib
    from server.services import content as content_svc
    from server.services import layouts, schedules

    preset = layouts.presets()[0]
    regions = [dict(r) for r in preset["regions"]]
    title = next(r for r in regions if r["role"] == "image")
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "东和标题栏.png"
        _title_bar(png, (title["w"], title["h"]), font)
        with png.open("rb") as f:
            image = content_svc.upload(
                s, editor, store, f, png.name,
                content_svc.Meta(title="东和社区标题栏", topic_id=topic_id,
                                 community_id=community_id), lib.Limits())
    content_svc.submit(s, editor, image.id)
    content_svc.approve(s, reviewer, image.id)
    title["content_id"] = image.id
    title["bg"] = "#b22222"  # the bar's own red around the image on wider panels
    layout = layouts.create_layout(s, editor, name=DEMO_LAYOUT, width=preset["width"],
                                   height=preset["height"], regions=regions,
                                   community_id=community_id)
    for text in DEMO_TICKER:
        line = layouts.add_typed_line(s, editor, store, layout.id, "ticker", text, topic_id,
                                      font)
        content_svc.approve(s, reviewer, line.id)
    schedules.create_schedule(s, editor, name="东和标准版式（全天）", layout_id=layout.id,
                              recurrence=schedules.Recurrence(),
                              targets=[schedules.TargetIn("community", community_id)])
    return 1 + len(DEMO_TICKER)


RUSH_HOURS_PLAN = "高峰时段以外关屏"


def ensure_rush_hours(s: Session) -> bool:
    """The screen plan that keeps 东和's lobby screens dark outside the morning and evening
    rush (created with the demo's history, whose hours it shapes; the plain demo plays
    all day so a live check never depends on the time of day). Returns True if created."""
    from server.models import ScreenPlan, User
    from server.services import schedules
    from server.services.access import Actor

    if s.scalar(select(ScreenPlan.id).where(ScreenPlan.name == RUSH_HOURS_PLAN)) is not None:
        return False
    street = ensure_street(s)
    donghe = s.scalar(select(Community).where(Community.name == "东和",
                                              Community.street_id == street.id))
    admin = Actor.of(s.scalar(select(User).where(User.username == "donghe_admin")))
    schedules.create_screen_plan(
        s, admin, name=RUSH_HOURS_PLAN, screen_on=False, brightness=0,
        recurrence=schedules.Recurrence(windows=SCREEN_OFF_WINDOWS),
        targets=[schedules.TargetIn("community", donghe.id)], community_id=donghe.id)
    return True
