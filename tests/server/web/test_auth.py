from server.db import db
from server.models import AuditEntry, Role
from tests import helpers


def test_pages_need_a_login(client):
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_page_speaks_chinese_first(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "登录" in html


def test_wrong_password_and_unknown_user_get_one_generic_message(client):
    u = helpers.user()
    page = client.get("/login").get_data(as_text=True)
    token = helpers.csrf_token(page)
    wrong = client.post("/login", data={"username": u.username, "password": "nope",
                                        "csrf_token": token})
    unknown = client.post("/login", data={"username": "ghost", "password": "nope",
                                          "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    for r in (wrong, unknown):
        assert "用户名或密码错误。" in r.get_data(as_text=True)
    assert wrong.get_data(as_text=True).count("用户名或密码错误") == 1


def test_login_logs_in_and_is_audited(client):
    u = helpers.user(Role.community_admin)
    r = helpers.login(client, u)
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    assert db.query(AuditEntry).filter_by(action="login", actor=u.username).count() == 1


def test_repeated_failures_are_throttled(client):
    u = helpers.user()
    token = helpers.csrf_token(client.get("/login").get_data(as_text=True))
    codes = [client.post("/login", data={"username": u.username, "password": f"bad{i}",
                                         "csrf_token": token}).status_code for i in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    # Even the right password waits until the window passes.
    r = client.post("/login", data={"username": u.username, "password": helpers.PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 429


def test_a_form_without_csrf_token_is_refused(client):
    u = helpers.user()
    client.get("/login")
    r = client.post("/login", data={"username": u.username, "password": helpers.PASSWORD})
    assert r.status_code == 400
    assert "请刷新页面后重试" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302
    helpers.login(client, u)
    r = client.post("/logout")  # no token
    assert r.status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_open_redirects_are_not_followed(client):
    u = helpers.user()
    page = client.get("/login?next=//evil.example").get_data(as_text=True)
    r = client.post("/login?next=//evil.example", data={
        "username": u.username, "password": helpers.PASSWORD,
        "csrf_token": helpers.csrf_token(page)})
    assert r.headers["Location"] == "/"


def test_security_headers_and_cookie_flags(client):
    r = client.get("/login")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_language_switch_to_english_and_back(client):
    u = helpers.user()
    helpers.login(client, u)
    client.get("/lang/en")
    assert "Community tree" in client.get("/").get_data(as_text=True)
    client.get("/lang/zh_Hans_CN")
    assert "社区架构" in client.get("/").get_data(as_text=True)


def test_logout(client):
    u = helpers.user()
    helpers.login(client, u)
    page = client.get("/").get_data(as_text=True)
    r = client.post("/logout", data={"csrf_token": helpers.csrf_token(page)})
    assert r.status_code == 302
    assert client.get("/").status_code == 302
