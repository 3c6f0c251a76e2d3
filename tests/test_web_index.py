"""The start page lists the demo hall's screens; sign-in works and refuses bad input."""
import pytest


def test_index_lists_the_demo_hall(app, demo):
    html = app.test_client().get("/?lang=en").get_data(as_text=True)
    assert "Inspection and Quarantine Service Hall" in html
    assert "/api/v1/openapi.json" in html


def test_index_in_chinese(app, demo):
    html = app.test_client().get("/?lang=zh").get_data(as_text=True)
    assert "出入境检验检疫综合服务大厅" in html


@pytest.mark.browser
def test_index_in_chromium(live_server, page, screenshot):
    page.goto(live_server.url + "/?lang=en")
    assert page.locator("h2").first.inner_text().startswith("Inspection and Quarantine")
    screenshot(page, "index-en")
