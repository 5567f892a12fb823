"""The 安全 page: street admins see where each part of trust stands and reach its page."""

from __future__ import annotations

from datetime import date, timedelta

from server.db import db
from server.models import EscalationPeriod, Role, ScreeningWord
from tests import helpers


def test_street_admins_see_the_state_of_each_part_and_its_page(client, app):
    donghe = helpers.community("东和")
    helpers.login(client, helpers.user(Role.community_admin, donghe))
    assert client.get("/security").status_code == 403
    assert 'id="nav-security"' not in client.get("/account/").get_data(as_text=True)

    admin = helpers.user(Role.street_admin)
    today = date.today()
    db.add_all([
        EscalationPeriod(street_id=admin.street_id, starts_on=today - timedelta(days=1),
                         ends_on=today + timedelta(days=1), reason="重大活动期间"),
        ScreeningWord(street_id=admin.street_id, word="诈骗", action="block"),
        ScreeningWord(street_id=admin.street_id, word="刷单", action="block"),
        ScreeningWord(street_id=admin.street_id, word="返利", action="flag"),
    ])
    db.commit()
    client = app.test_client()
    helpers.login(client, admin)
    page = client.get("/security").get_data(as_text=True)
    assert 'id="nav-security"' in page
    for endpoint in ("/signing", "/integrity", "/escalation", "/screening"):
        assert f'href="{endpoint}"' in page, endpoint
    assert "重大活动期间" in page and "生效中" in page
    assert "禁用词 2 个，提示审核员的词 1 个" in page
    assert "尚无密钥" in page  # nothing was signed yet
