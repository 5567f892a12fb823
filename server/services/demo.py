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
    total = len(s.scalars(select(Terminal.id).join(Building)
                          .where(Building.community_id == donghe.id)).all())
    return {"communities": len(communities), "terminals_created": created, "terminals": total}


# --- demo content: notices, a clip, a playlist and schedules for all of 东和 -----------

DEMO_PLAYLIST = "东和社区日常播放"
DEMO_NOTICES = (
    ("防台风", "warning", "台风预警", "台风“海葵”预计今晚登陆，请关好门窗，收好阳台物品，非必要不外出。"),
    ("垃圾分类", "convenience", "垃圾分类", "厨余垃圾请于每晚7点至9点投放到楼下分类点，谢谢配合。"),
    ("便民服务", "notice", "停水通知", "因管道维修，6月3日9:00至17:00停水，请提前储水。"),
    ("社区活动", "event", "邻里节", "本周六上午在党群服务中心举办“左邻右里”邻里节，欢迎参加。"),
)


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
    donghe = s.scalar(select(Community).where(Community.name == "东和",
                                              Community.street_id == street.id))
    editor = Actor.of(s.scalar(select(User).where(User.username == "donghe_editor")))
    reviewer = Actor.of(s.scalar(select(User).where(User.username == "donghe_reviewer")))
    topic = {t.name: t.id for t in s.scalars(select(Topic).where(Topic.street_id == street.id))}
    items = []
    for name, template, heading, body in DEMO_NOTICES:
        meta = content_svc.Meta(title=heading, topic_id=topic[name], community_id=donghe.id,
                                duration_s=10)
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
    return {"playlist": playlist.id, "created": len(items) + 1}
