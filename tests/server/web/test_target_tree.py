"""The target tree as the server draws it (what works before and without its script):
scoped to what the staff member may see, in natural order, with the field names and the
checked places the forms already use."""

from __future__ import annotations

import re

from server.db import db
from server.models import Role
from tests import helpers


def _names(html: str, kind: str) -> list[str]:
    return re.findall(rf'<li class="tnode tnode-{kind}"[^>]*data-name="([^"]+)"', html)


def test_tree_scoped_ordered_and_checked(app, client):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    buildings = {n: helpers.building(donghe, n) for n in ("10栋", "2栋", "1栋")}
    terminal = helpers.terminal(buildings["2栋"])
    helpers.building(tianxin, "田心一栋")
    admin = helpers.user(Role.street_admin)
    editor = helpers.user(Role.editor, donghe)
    db.commit()

    helpers.login(client, admin)
    page = client.get("/schedules/new").get_data(as_text=True)
    assert _names(page, "community") == ["东和", "田心"]
    assert _names(page, "building") == ["1栋", "2栋", "10栋", "田心一栋"]
    assert 'id="street" name="street" value="y"' in page  # a street admin may aim at it
    assert f'name="buildings" value="{buildings["1栋"].id}"' in page
    assert f'name="terminals" value="{terminal.id}"' in page

    report = client.get(f"/reports/?building_id={buildings['2栋'].id}").get_data(as_text=True)
    assert re.search(rf'type="radio"[^>]* name="building_id" value="{buildings["2栋"].id}" checked',
                     report)
    assert len(re.findall(r'type="radio"[^>]*checked', report)) == 1
    report = client.get("/reports/").get_data(as_text=True)  # no filter: the whole street
    assert re.search(r'type="radio"[^>]* name="community_id" value="" checked', report)
    client.post("/logout", data={"csrf_token": helpers.csrf_token(report)})

    helpers.login(client, editor)
    page = client.get("/schedules/new").get_data(as_text=True)
    assert _names(page, "community") == ["东和"]
    assert "田心一栋" not in page and 'name="street"' not in page
