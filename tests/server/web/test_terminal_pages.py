from server.db import db
from server.models import Command, Role, Terminal
from tests import helpers


def test_pair_a_screen_by_its_code_then_command_and_revoke(client, app):
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe))
    helpers.login(client, helpers.user(Role.community_admin, donghe))
    start = client.post("/terminal-api/v1/pairing").json
    page = client.get(f"/terminals/{t.id}").get_data(as_text=True)
    assert "尚未配对" in page
    r = helpers.post_form(client, f"/terminals/{t.id}/pair", {"code": "ZZZZZZ"})
    assert r.status_code == 422 and "没有终端在等待配对码" in r.get_data(as_text=True)
    r = helpers.post_form(client, f"/terminals/{t.id}/pair", {"code": start["code"]})
    assert r.status_code == 302
    polled = client.get(f"/terminal-api/v1/pairing/{start['poll_token']}").json
    assert polled["terminal_id"] == t.id
    page = client.get(f"/terminals/{t.id}").get_data(as_text=True)
    r = client.post(f"/terminals/{t.id}/command", data={
        "csrf_token": helpers.csrf_token(page), "kind": "brightness", "level": "30"})
    assert r.status_code == 302
    cmd = db.query(Command).one()
    assert (cmd.kind, cmd.args) == ("brightness", {"level": 30})
    page = client.get(f"/terminals/{t.id}").get_data(as_text=True)
    assert "brightness" in page
    r = client.post(f"/terminals/{t.id}/revoke", data={"csrf_token": helpers.csrf_token(page)})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Terminal, t.id).credential_hash is None


def test_another_communitys_terminal_page_is_404(client):
    t = helpers.terminal(helpers.building(helpers.community("田心")))
    helpers.login(client, helpers.user(Role.community_admin, helpers.community("东和")))
    assert client.get(f"/terminals/{t.id}").status_code == 404
