"""The supervisor's staffing what-if page in real Chromium: a table and a chart per option, zh and en."""
from __future__ import annotations

import pytest
import requests

from tests.test_supervisor_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.slow
def test_whatif_page_simulates_each_staffing_option(chromium, demo, live_server, screenshot):
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "supervisor", demo.passwords["supervisor"])
    page.goto(live_server.url + "/reports/demo?from=2026-03-02&to=2026-03-02&lang=zh")
    page.click("a[href$='/reports/demo/whatif']")
    assert "窗口配置推演" in page.inner_text("h1")
    page.select_option("select[name=profile]", "light")
    page.select_option("select[name=service]", "A")
    page.fill("input[name=low]", "1")
    page.fill("input[name=high]", "2")
    page.click("#whatif-form button[type=submit]", no_wait_after=True)
    page.wait_for_selector("#whatif-options tbody tr[data-counters='2']", timeout=240000)
    rows = page.locator("#whatif-options tbody tr")
    assert rows.count() == 2
    p90 = [float(rows.nth(i).locator("td").first.inner_text().rstrip("s")) for i in range(2)]
    assert p90[0] > p90[1]  # a second counter on A shortens the waits of the same visitors
    page.wait_for_function("() => document.querySelector('#chart-whatif').width > 0 && window.Chart && Chart.getChart('chart-whatif')")
    assert page.evaluate("Chart.getChart('chart-whatif').data.datasets[0].data.length") == 2
    screenshot(page, "whatif-1080p-zh")

    page.goto(live_server.url + "/reports/demo/whatif?lang=en&profile=peak&service=A&low=5&high=1&seed=1")
    assert "at most" in page.inner_text("[role=alert]") and "Staffing what-if" in page.inner_text("h1")
    screenshot(page, "whatif-1080p-en")
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    bad = requests.get(live_server.url + "/reports/demo/whatif?profile=nosuch&service=A&low=1&high=2",
                       cookies=cookies, timeout=10)
    assert bad.status_code == 400
    context.close()
