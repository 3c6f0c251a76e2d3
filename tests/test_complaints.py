"""Complaint cases: a bad rating opens one, its deadlines count working days of the hall's calendar,
the supervisor follows it through contact, rectification and closing (API and pages), overdue cases alarm."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from hall import clock, queue
from hall.alarms import scan_hall
from hall.complaints.cases import deadlines
from hall.extensions import db
from hall.models import Alarm, ComplaintCase
from tests.supervisor_support import sign_in
from tests.visitor_support import serve_at

FRIDAY = datetime(2026, 3, 6, 2, 0)  # 10:00 in Shanghai


@pytest.fixture
def client(app, demo, frozen):
    return app.test_client()


def rate_by_phone(client, demo, rating: int, counter: int = 1, **extra) -> dict:
    token = queue.issue_ticket(demo.id, "A")["token"]
    serve_at(demo, counter)
    answer = client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": rating, **extra})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def supervisor(demo) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.token('supervisor')}"}


def test_a_bad_rating_opens_a_case_for_the_supervisor(client, demo):
    rate_by_phone(client, demo, 3)
    assert db.session.scalar(select(ComplaintCase)) is None       # 基本满意 is no complaint
    rate_by_phone(client, demo, 2, reasons=["long_wait", "attitude"], comment="等了一个小时", attitude=1)
    rate_by_phone(client, demo, 1)
    listed = client.get("/api/v1/halls/demo/complaints?status=open", headers=supervisor(demo))
    assert listed.status_code == 200
    cases = listed.get_json()["complaints"]
    assert [c["rating"] for c in cases] == [1, 2]
    case = cases[1]
    assert {"id", "status", "rating", "ticket", "counter", "staff", "opened_at", "contact_due", "rectify_due"} <= set(case)
    assert (case["status"], case["ticket"], case["counter"], case["staff"]) == ("open", "A002", 1, "窗口1工作人员")
    assert (case["reasons"], case["comment"], case["sub_ratings"]["attitude"]) == (
        ["long_wait", "attitude"], "等了一个小时", 1)
    assert case["supervisor"] == "值班主任"
    # 2026-03-02 is a Monday: contact by Tuesday, rectify within 15 working days (three weekends between).
    assert (case["contact_due"], case["rectify_due"]) == ("2026-03-03", "2026-03-23")


def test_deadlines_skip_weekends_and_holidays_and_count_make_up_days(demo):
    hall = demo.hall
    hall.booking_closed_dates = ["2026-03-09"]        # Monday: a holiday
    hall.booking_open_dates = ["2026-03-14"]          # Saturday: a make-up working day (调休)
    assert deadlines(hall, FRIDAY) == (date(2026, 3, 10), date(2026, 3, 27))
    hall.booking_open_dates = []
    assert deadlines(hall, FRIDAY) == (date(2026, 3, 10), date(2026, 3, 30))
    hall.complaint_contact_days, hall.complaint_rectify_days = 2, 3
    assert deadlines(hall, FRIDAY) == (date(2026, 3, 11), date(2026, 3, 12))


def test_the_supervisor_follows_a_case_to_closure(client, demo):
    rate_by_phone(client, demo, 2)
    case_id = db.session.scalar(select(ComplaintCase.id))
    base, auth = f"/api/v1/halls/demo/complaints/{case_id}", supervisor(demo)
    staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
    assert client.post(f"{base}/contact", json={"note": "x"}, headers=staff).status_code == 403
    assert client.get("/api/v1/halls/demo/complaints").status_code == 401
    assert client.get("/api/v1/halls/demo/complaints?status=lost", headers=auth).status_code == 400
    assert client.post(f"{base}/contact", json={}, headers=auth).status_code == 422
    early = client.post(f"{base}/rectify", json={"note": "trained"}, headers=auth)
    assert early.status_code == 409 and early.get_json()["error"] == "case_state"
    assert client.post(f"{base}/close", json={"note": "done"}, headers=auth).status_code == 409
    contacted = client.post(f"{base}/contact", json={"note": "电话回访，访客接受道歉"}, headers=auth).get_json()
    assert contacted["status"] == "contacted" and contacted["contacted_at"]
    rectified = client.post(f"{base}/rectify", json={"note": "窗口增加一人"}, headers=auth).get_json()
    assert rectified["status"] == "rectified"
    closed = client.post(f"{base}/close", json={"note": "结案"}, headers=auth).get_json()
    assert (closed["status"], closed["close_reason"]) == ("closed", "resolved")
    assert [(h["status"], h["note"]) for h in closed["history"]] == [
        ("open", ""), ("contacted", "电话回访，访客接受道歉"), ("rectified", "窗口增加一人"), ("closed", "结案")]
    assert client.get("/api/v1/halls/demo/complaints?status=open", headers=auth).get_json() == {"complaints": []}
    assert client.get("/api/v1/halls/demo/complaints/999", headers=auth).status_code == 404


def test_a_mistaken_rating_is_closed_after_review_and_kept(client, demo):
    rate_by_phone(client, demo, 1)
    case_id = db.session.scalar(select(ComplaintCase.id))
    answer = client.post(f"/api/v1/halls/demo/complaints/{case_id}/close",
                         json={"note": "访客误点，复核属实", "reason": "mistaken"}, headers=supervisor(demo))
    assert (answer.get_json()["status"], answer.get_json()["close_reason"]) == ("closed", "mistaken")
    kept = client.get("/api/v1/halls/demo/complaints?status=closed", headers=supervisor(demo)).get_json()
    assert [c["id"] for c in kept["complaints"]] == [case_id]


def test_an_overdue_case_raises_a_monitor_alarm_until_it_is_followed(client, demo, frozen):
    rate_by_phone(client, demo, 2)
    case = db.session.scalar(select(ComplaintCase))
    scan_hall(demo.id)
    assert db.session.scalar(select(Alarm).where(Alarm.kind == "complaint_overdue")) is None
    frozen.now = datetime(2026, 3, 4, 2, 0)             # Wednesday: the Tuesday deadline has passed
    scan_hall(demo.id)
    alarm = db.session.scalar(select(Alarm).where(Alarm.kind == "complaint_overdue"))
    assert alarm.subject == f"complaint:{case.id}" and alarm.cleared_at is None
    assert client.get(f"/api/v1/halls/demo/complaints/{case.id}", headers=supervisor(demo)).get_json()["overdue"]
    client.post(f"/api/v1/halls/demo/complaints/{case.id}/contact", json={"note": "late call"},
                headers=supervisor(demo))
    scan_hall(demo.id)
    db.session.refresh(alarm)
    assert alarm.cleared_at is not None


@pytest.mark.parametrize("lang, words", [("zh", ["差评处理", "回访", "不满意"]),
                                         ("en", ["Complaint case", "Contact the visitor by", "Dissatisfied"])])
def test_case_pages_in_both_languages_and_the_step_form(app, demo, client, lang, words):
    rate_by_phone(client, demo, 2)
    case_id = db.session.scalar(select(ComplaintCase.id))
    boss = sign_in(app.test_client(), "supervisor", demo.passwords["supervisor"])
    listing = boss.get(f"/complaints/demo?lang={lang}").get_data(as_text=True)
    assert f'data-case="{case_id}"' in listing
    page = boss.get(f"/complaints/demo/{case_id}?lang={lang}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and all(word in html for word in words), html
    opened = db.session.get(ComplaintCase, case_id).opened_at
    shown = clock.to_local(opened, "Asia/Shanghai").strftime("%Y-%m-%d %H:%M")
    assert shown in html and shown in listing and " UTC" not in html, "times in the hall's zone"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    empty = boss.post(f"/complaints/demo/{case_id}", data={"csrf_token": token, "step": "contact", "note": ""})
    assert empty.status_code == 400
    done = boss.post(f"/complaints/demo/{case_id}", data={"csrf_token": token, "step": "contact", "note": "回访完成"})
    assert done.status_code == 302
    assert db.session.get(ComplaintCase, case_id).status == "contacted"
    assert app.test_client().get(f"/complaints/demo/{case_id}").status_code in (302, 401)
