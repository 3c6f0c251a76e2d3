"""The monthly report's 好差评 figures against a scripted month: ratings per level, complaint cases opened,
contacted and rectified in time, overdue, mistaken, 回访率 and 整改率, on the page, in the PDF and the XLSX."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import ComplaintCase, Ticket
from hall.reports.monthly import Month, monthly_report
from tests.supervisor_support import sign_in
from tests.visitor_support import serve_at


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 2, 0)  # 10:00 in Shanghai


@pytest.fixture
def month(app, demo, frozen):
    """March 2026 (weekends closed, Monday 9 March a holiday): five cases and two good ratings."""
    demo.hall.booking_closed_dates = ["2026-03-09"]
    db.session.commit()
    client, auth = app.test_client(), {"Authorization": f"Bearer {demo.token('supervisor')}"}

    def rated(day: int, rating: int, month: int = 3, **sub_ratings: int) -> int | None:
        frozen.now = at(day, month)
        token = queue.issue_ticket(demo.id, "A")["token"]
        serve_at(demo, 1)
        answer = client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": rating, **sub_ratings})
        assert answer.status_code == 201
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.token == token))
        return db.session.scalar(select(ComplaintCase.id).where(ComplaintCase.ticket_id == ticket_id))

    def step(case: int, day: int, name: str, **body) -> None:
        frozen.now = at(day)
        answer = client.post(f"/api/v1/halls/demo/complaints/{case}/{name}", json={"note": name, **body},
                             headers=auth)
        assert answer.status_code == 200, answer.get_json()

    one = rated(2, 2)                      # due: contact Tue 3, rectify Mon 23
    step(one, 3, "contact")                # in time
    step(one, 10, "rectify")               # in time
    two = rated(6, 1)                      # Friday; Monday 9 a holiday: contact by Tue 10, rectify by Mon 30
    step(two, 11, "contact")               # late
    step(two, 31, "rectify")               # late
    three = rated(16, 2)
    step(three, 16, "close", reason="mistaken")
    rated(20, 1)                           # never followed: contact by Mon 23 → overdue
    rated(31, 2)                           # contact by 1 April: not yet overdue at the month's end
    assert rated(12, 5, efficiency=5, attitude=4) is None and rated(13, 3, efficiency=2) is None
    rated(1, 1, month=4, efficiency=1)                   # next month's
    frozen.now = at(2, month=4)
    return client


EXPECTED = {"opened": 5, "contacted": 2, "contacted_in_time": 1, "rectified": 2, "rectified_in_time": 1,
            "overdue": 2, "mistaken": 1, "contact_rate_pct": 40.0, "rectify_rate_pct": 40.0}


def test_complaint_figures_of_a_scripted_month(app, demo, month):
    with app.test_request_context("/?lang=en"):
        report = monthly_report(demo.hall, Month(2026, 3), "en")
        april = monthly_report(demo.hall, Month(2026, 4), "en")["complaints"]
    assert report["complaints"] == EXPECTED
    assert [(r["level"], r["count"]) for r in report["rating_levels"]] == [(5, 1), (4, 0), (3, 1), (2, 3), (1, 2)]
    assert report["figures"]["satisfaction"]["satisfied_pct"] == round(100 * 2 / 7, 1)
    assert [(a["label"], a["count"], a["average"]) for a in report["aspects"]] == [
        ("Efficiency", 2, 3.5), ("Competence", 0, None), ("Attitude", 1, 4.0)]
    [staff] = report["staff_ranking"]
    assert (staff["name"], staff["ratings"]) == ("窗口1工作人员", 7)
    assert (april["opened"], april["overdue"]) == (1, 0)


def test_complaint_figures_on_the_page_in_the_pdf_and_the_xlsx(app, demo, month):
    boss = sign_in(app.test_client(), "supervisor", demo.passwords["supervisor"])
    html = boss.get("/reports/demo/monthly?month=2026-03&lang=en").get_data(as_text=True)
    assert '<tr data-key="opened"><th>Complaint cases opened</th><td class="num">5</td>' in html
    assert '<tr data-key="contact_rate_pct"><th>Contact rate (回访率, %)</th><td class="num">40%</td>' in html
    assert '<tr data-aspect="efficiency"><th>Efficiency</th><td class="num">2</td><td class="num">3.5</td>' in html
    zh = boss.get("/reports/demo/monthly?month=2026-03&lang=zh").get_data(as_text=True)
    assert "整改率" in zh and "<th>服务效率</th>" in zh
    pdf = boss.get("/reports/demo/monthly.pdf?month=2026-03&lang=en")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    sheet = load_workbook(io.BytesIO(boss.get("/reports/demo/export.xlsx?from=2026-03-01&to=2026-03-31&lang=en")
                                     .data))
    rows = {row[0]: row[1] for ws in sheet.worksheets for row in ws.iter_rows(values_only=True) if row and row[0]}
    assert rows["Complaint cases opened"] == 5 and rows["Overdue"] == 2 and rows["2 Dissatisfied"] == 3
