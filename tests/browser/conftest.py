"""Browser tests: a real gunicorn server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests import live
from tests.conftest import clean_database

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    clean_database(database_url)
    srv = live.start(database_url, tmp_path_factory.mktemp("live"))
    yield srv
    srv.stop()
    clean_database(database_url)


@pytest.fixture(scope="session")
def browser() -> Browser:
    assert shutil.which(CHROMIUM), "browser tests need Debian's chromium (make test installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.url, locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()


def login(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url("**/")
