"""Early warnings in the browser: a street admin uploads an orange typhoon message for 盐田区,
which the policy sends at once; its page shows the card, the screens it matched and why,
and the receipt filling live as a real player shows it. A yellow gale waits for approval
with its timeout, is approved with one click; a source's new secret is shown once."""

from __future__ import annotations

import csv
import io
import os

from playwright.sync_api import expect

from tests import live
from tests.browser.conftest import login
from tests.cap.samples import sample
from tests.e2e.conftest import Player, wait_for

SHOTS = os.environ.get("SIGNAGE_SHOTS")  # a directory: save the screenshots there to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def _upload(page, tmp_path, name: str, identifier: str) -> None:
    f = tmp_path / f"{identifier}.xml"
    f.write_bytes(sample(name, identifier=identifier))
    page.goto("/warnings/upload")
    page.set_input_files("#file", str(f))
    page.click("#upload-send")


def test_typhoon_upload_sent_by_policy_with_a_live_receipt(page, server, tmp_path):
    rows = list(csv.DictReader(io.StringIO(
        server.flask("terminals", "provision", "--community", "东和").stdout)))
    r = rows[0]
    cred = tmp_path / "cred"
    cred.write_text(r["credential"])
    player = Player(int(r["terminal_id"]), cred, tmp_path / "data", server).start()
    try:
        wait_for(lambda: player.manifest_version() is not None, what="a first manifest")
        page.set_viewport_size({"width": 1440, "height": 900})
        login(page, "admin", live.ADMIN_PASSWORD)
        page.click("#nav-warnings")
        expect(page.locator("h1")).to_have_text("预警")
        _upload(page, tmp_path, "typhoon_orange_yantian", "ui-typhoon-1")
        expect(page.locator("h1 .level-chip")).to_have_text("橙色")
        expect(page.locator("#warning-state")).to_have_text("已发布")
        expect(page.locator("#targeted")).to_have_text(str(len(rows)))
        expect(page.locator("#acked")).to_have_text("1", timeout=30_000)  # no reload
        expect(page.locator(f"#receipt-{player.terminal_id} td.shown")).to_have_count(1)
        expect(page.locator("#receipt-rows td.not-shown").first).to_contain_text("从未连接")
        expect(page.locator("#matched .why").first).to_contain_text("区划代码 440308 包含")
        expect(page.locator("#warning-card img.led").first).to_be_visible()
        _shot(page, "warning-sent.png")
        page.goto("/warnings/")
        expect(page.locator("#warnings tbody tr").first).to_contain_text("台风")
        _shot(page, "warnings-list.png")
    finally:
        player.process.kill()
        player.process.wait()


def test_gale_waits_for_approval_and_a_new_secret_is_shown_once(page, server, tmp_path):
    server.flask("terminals", "provision", "--community", "东和")
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "admin", live.ADMIN_PASSWORD)
    _upload(page, tmp_path, "gale_bilingual", "ui-gale-1")
    expect(page.locator("#approval")).to_be_visible()
    expect(page.locator("#approval-timeout")).to_contain_text("自动发布")
    _shot(page, "warning-pending.png")
    page.click("#approve")
    expect(page.locator("#warning-state")).to_have_text("已发布")
    expect(page.locator("#approval")).to_have_count(0)
    page.goto("/warnings/sources")
    source = page.locator(".warning-source", has_text="深圳市气象台")
    secret = source.locator("[id^=secret-]")
    masked = secret.inner_text()
    assert masked.startswith("•")
    source.locator("[id^=rotate-]").click()
    shown = page.locator(".warning-source", has_text="深圳市气象台").locator(".secret-full")
    expect(shown).to_be_visible()
    full = shown.inner_text()
    assert len(full) >= 16 and "•" not in full
    _shot(page, "warning-sources.png")
    page.goto("/warnings/sources")
    expect(page.locator(".secret-full")).to_have_count(0)
    assert full not in page.content()
