from server.db import db
from server.models import Building, Role, Terminal
from tests import helpers


def test_community_admin_creates_building_and_terminal_through_forms(client):
    donghe = helpers.community("东和")
    helpers.login(client, helpers.user(Role.community_admin, donghe))
    r = helpers.post_form(client, "/buildings/new", {"community_id": donghe.id,
                                                     "name": "海滨花园3栋", "address": "东和路8号"})
    assert r.status_code == 302
    b = db.query(Building).filter_by(name="海滨花园3栋").one()
    r = helpers.post_form(client, f"/terminals/new?building_id={b.id}", {
        "building_id": b.id, "name": "大堂屏", "location": "一楼", "width": 384, "height": 192,
        "colour_mode": "full", "tags": "大堂，电梯口"})
    assert r.status_code == 302
    t = db.query(Terminal).one()
    assert (t.width, t.height, t.tags) == (384, 192, ["大堂", "电梯口"])
    html = client.get(f"/buildings/{b.id}").get_data(as_text=True)
    assert "大堂屏" in html and "384×192" in html


def test_editor_from_another_community_gets_404_and_nothing_changes(client):
    tianxin = helpers.community("田心")
    b = helpers.building(tianxin, "田心1栋")
    t = helpers.terminal(b)
    db.commit()
    helpers.login(client, helpers.user(Role.community_admin, helpers.community("东和")))
    assert client.get(f"/buildings/{b.id}").status_code == 404
    assert client.get(f"/buildings/{b.id}/edit").status_code == 404
    assert client.get(f"/terminals/{t.id}/edit").status_code == 404
    page = client.get("/").get_data(as_text=True)
    assert "田心1栋" not in page
    r = client.post(f"/buildings/{b.id}/delete",
                    data={"csrf_token": helpers.csrf_token(page)})
    assert r.status_code == 404
    db.expire_all()
    assert db.get(Building, b.id).name == "田心1栋"


def test_editor_role_cannot_create_buildings(client):
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe))
    helpers.login(client, helpers.user(Role.editor, donghe))
    # The forms are refused before they are filled in, and so is what they would send.
    for url in ("/buildings/new", f"/buildings/{t.building_id}/edit", "/terminals/new",
                f"/terminals/{t.id}/edit"):
        assert client.get(url).status_code == 403, url
    page = client.get("/").get_data(as_text=True)
    r = client.post("/buildings/new", data={"community_id": donghe.id, "name": "x",
                                            "csrf_token": helpers.csrf_token(page)})
    assert r.status_code == 403
    assert "您的角色无权执行此操作" in r.get_data(as_text=True)
    assert db.query(Building).count() == 1


def test_duplicate_building_name_is_shown_next_to_the_field(client):
    donghe = helpers.community("东和")
    helpers.building(donghe, "诗宁大厦")
    db.commit()
    helpers.login(client, helpers.user(Role.street_admin))
    r = helpers.post_form(client, "/buildings/new", {"community_id": donghe.id,
                                                     "name": "诗宁大厦"})
    assert r.status_code == 200
    assert "此处已有名为“诗宁大厦”的楼栋" in r.get_data(as_text=True)
    assert db.query(Building).count() == 1


def test_users_page_is_for_admins_only(client):
    helpers.login(client, helpers.user(Role.editor))
    assert client.get("/users/").status_code == 403
    assert client.get("/audit/").status_code == 403


def test_admin_creates_a_user_and_sees_it_in_the_audit_log(client):
    c = helpers.community("东和")
    helpers.login(client, helpers.user(Role.street_admin, username="boss"))
    r = helpers.post_form(client, "/users/new", {
        "username": "wang.li", "display_name": "王丽", "role": "reviewer",
        "community_id": c.id, "password": "a good long password", "active": "y"})
    assert r.status_code == 302
    html = client.get("/audit/?object_type=user&action=create").get_data(as_text=True)
    assert "wang.li" in html and "审核员" in html and "reviewer" not in html


def test_account_page_creates_and_revokes_a_token(client):
    u = helpers.user()
    helpers.login(client, u)
    r = helpers.post_form(client, "/account/tokens", {"name": "报表"})
    html = r.get_data(as_text=True)
    assert 'id="new-token"' in html
    plaintext = html.split('id="new-token">')[1].split("<")[0]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).json[
        "username"] == u.username
