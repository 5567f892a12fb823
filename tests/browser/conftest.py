"""Browser tests: a real gunicorn server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests import live
from tests.conftest import clean_database

CHROMIUM = "/usr/bin/chromium"

# Pages poll the server every second or so; on a shared CI machine under load 5 s (the
# default) is a handful of polls. A longer wait changes no verdict, only how long a
# failing run takes to say so.
expect.set_options(timeout=15_000)


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
