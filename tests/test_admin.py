"""Administration forms: valid edits are saved, bad input gets clear form errors, nothing is deleted."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from hall import queue
from hall.extensions import db
from hall.models import Counter, Device, Service, Staff
from tests.supervisor_support import sign_in


@pytest.fixture
def admin(app, demo):
    return sign_in(app.test_client(), "admin", demo.passwords["admin"])


def form(client, url: str, **fields):
    """Post a form the way the browser does: current values, our changes, its CSRF token.

    A list sets every value of a field (checkboxes of one name); False leaves a field out.
    """
    html = client.get(url).get_data(as_text=True)
    data = MultiDict()
    for tag in re.findall(r"<input[^>]*>", html):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if "name" not in attrs:
            continue
        if attrs.get("type") == "checkbox":
            if re.search(r"\schecked\b", tag):
                data.add(attrs["name"], attrs.get("value", "y"))
        elif attrs["name"] not in data:
            data[attrs["name"]] = attrs.get("value", "")
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\s*([^<]*)</textarea>', html):
        data.setdefault(name, value.replace("&#39;", "'"))
    for name, value in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>.*?<option selected value="([^"]*)"', html, re.S):
        data.setdefault(name, value)
    for name, value in fields.items():
        if value is False:
            data.pop(name, None)
        elif isinstance(value, list):
            data.setlist(name, value)
        else:
            data[name] = value
    response = client.post(url, data=data)
    db.session.rollback()  # see what the request committed
    return response


def test_admin_home_lists_everything(admin):
    html = admin.get("/admin/demo?lang=en").get_data(as_text=True)
    for section in ("services", "counters", "devices", "notices"):
        assert f'id="{section}"' in html
    assert "Declaration" in html and "Lobby TV" in html


def test_new_service_with_flow_and_checklist(admin, demo):
    response = form(admin, "/admin/demo/services/new", prefix="d", name_zh="检疫审批", name_en="Quarantine approval",
                    wait_limit_min="15", kiosk_order="3", slot_minutes="30", slot_capacity="4",
                    stages="accept | 受理 | Accept | 10\napprove | 审批 | Approve | 30",
                    checklist="申请表\n许可证")
    assert response.status_code == 302, response.get_data(as_text=True)
    service = db.session.scalar(select(Service).where(Service.prefix == "D"))
    assert service.wait_limit_s == 900 and [(s.code, s.limit_s) for s in service.stages] == [("accept", 600),
                                                                                           ("approve", 1800)]
    assert service.checklist == ["申请表", "许可证"]
    assert queue.issue_ticket(demo.id, "D")["number"] == "D001"


@pytest.mark.parametrize("stages, message", [
    ("accept | 受理 | Accept", "limit in minutes"),
    ("Accept | 受理 | Accept | 10", "lower-case"),
    ("accept | 受理 | Accept | 0", "1 to 1440"),
    ("a | 甲 | A | 5\na | 乙 | B | 5", "once"),
])
def test_bad_flow_is_a_form_error(admin, stages, message):
    response = form(admin, "/admin/demo/services/new?lang=en", prefix="E", name_zh="测试", wait_limit_min="10",
                    kiosk_order="0", slot_minutes="30", slot_capacity="4", stages=stages)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_taken_prefix_and_stage_with_open_cases(admin, demo):
    b = db.session.scalar(select(Service).where(Service.prefix == "B"))
    response = form(admin, f"/admin/demo/services/{b.id}?lang=en", prefix="A")
    assert response.status_code == 400 and "Prefix A is taken" in response.get_data(as_text=True)
    queue.issue_ticket(demo.id, "B")  # waits at accept
    response = form(admin, f"/admin/demo/services/{b.id}?lang=en",
                    stages="inspect | 施检 | Inspect | 20\nreview | 审核 | Review | 10")
    assert response.status_code == 400 and "still has open cases" in response.get_data(as_text=True)
    response = form(admin, f"/admin/demo/services/{b.id}", wait_limit_min="25",
                    stages="accept | 受理 | Accept | 12\nreview | 审核 | Review | 10")
    assert response.status_code == 302
    assert [s.code for s in b.stages] == ["accept", "review"] and b.stages[0].limit_s == 720


def test_counter_services_in_priority_order(admin, demo):
    counter = db.session.scalar(select(Counter).where(Counter.number == 4))
    bad = form(admin, f"/admin/demo/counters/{counter.id}?lang=en", services="Z")
    assert bad.status_code == 400 and "Unknown service Z" in bad.get_data(as_text=True)
    bad = form(admin, f"/admin/demo/counters/{counter.id}?lang=en", services="B: nope")
    assert "has no stage nope" in bad.get_data(as_text=True)
    ok = form(admin, f"/admin/demo/counters/{counter.id}", services="C\nB: review", zone="east", active=False)
    assert ok.status_code == 302
    assert [(l.service.prefix, l.stages) for l in counter.services] == [("C", None), ("B", ["review"])]
    assert counter.zone == "east" and counter.active is False  # deactivated, not deleted


def test_counter_schedule_is_saved_and_shown_again(admin, demo):
    counter = db.session.scalar(select(Counter).where(Counter.number == 2))
    url = f"/admin/demo/counters/{counter.id}"
    ok = form(admin, url, opens_at="09:00", closes_at="16:00", planned_breaks="15:00-15:15\n12:00 – 12:30\n")
    assert ok.status_code == 302
    assert (counter.opens_at.isoformat(), counter.closes_at.isoformat()) == ("09:00:00", "16:00:00")
    assert counter.breaks == [["12:00", "12:30"], ["15:00", "15:15"]]  # kept in time order
    page = admin.get(url).get_data(as_text=True)
    assert 'value="09:00"' in page and "12:00-12:30\n15:00-15:15" in page
    assert "12:00–12:30" in admin.get("/admin/demo?lang=en").get_data(as_text=True)
    assert form(admin, url, opens_at="", closes_at="", planned_breaks="").status_code == 302
    assert (counter.opens_at, counter.closes_at, counter.breaks) == (None, None, None)  # with the hall, no breaks


@pytest.mark.parametrize("fields, message_en, message_zh", [
    ({"planned_breaks": "12:00-12:30\n12:15-12:45"}, "The breaks 12:00–12:30 and 12:15–12:45 overlap.",
     "休息时段 12:00–12:30 与 12:15–12:45 重叠。"),
    ({"planned_breaks": "12:30-12:00"}, "The break 12:30–12:00 ends before it starts.",
     "休息时段 12:30–12:00 的结束时间早于开始时间。"),
    ({"opens_at": "17:00", "closes_at": "09:00"}, "Closing time must be after opening time.", None),
    ({"opens_at": "13:00", "planned_breaks": "12:00-12:30"},
     "The break 12:00–12:30 is outside the counter", "休息时段 12:00–12:30 不在窗口的开放时间内。"),
    ({"planned_breaks": "lunch"}, "Line 1: write a break as 12:00-12:30.", "第 1 行：休息时段写作 12:00-12:30。"),
    ({"planned_breaks": "12:00-12:30\n25:00-25:30"}, "Line 2: write a break as 12:00-12:30.", None),
    ({"planned_breaks": "12:00-12:30\x07"}, "Control characters are not allowed here.", None),
])
def test_counter_schedule_refuses_what_cannot_be_kept(admin, demo, fields, message_en, message_zh):
    counter = db.session.scalar(select(Counter).where(Counter.number == 2))
    for lang, message in (("en", message_en), ("zh", message_zh)):
        if message is None:
            continue
        bad = form(admin, f"/admin/demo/counters/{counter.id}?lang={lang}", **fields)
        assert bad.status_code == 400 and message in bad.get_data(as_text=True), lang
    db.session.refresh(counter)
    assert (counter.opens_at, counter.closes_at, counter.breaks) == (None, None, None)


def test_staff_create_reset_password_and_deactivate(app, admin, demo):
    response = form(admin, "/admin/demo/staff/new?lang=en", login="staff9", name="新同事", role="staff", language="zh")
    assert response.status_code == 400 and "needs a password" in response.get_data(as_text=True)
    assert form(admin, "/admin/demo/staff/new", login="staff9", name="新同事", role="staff", language="zh",
                password="first-pass-9").status_code == 302
    sign_in(app.test_client(), "staff9", "first-pass-9")
    person = db.session.scalar(select(Staff).where(Staff.login == "staff9"))
    assert form(admin, f"/admin/demo/staff/{person.id}", password="second-pass-9", position="窗口受理员",
                role="staff", language="zh").status_code == 302
    sign_in(app.test_client(), "staff9", "second-pass-9")
    taken = form(admin, f"/admin/demo/staff/{person.id}?lang=en", login="staff1", role="staff", language="zh")
    assert "Login staff1 is taken" in taken.get_data(as_text=True)
    me = demo.staff("admin")
    own = form(admin, f"/admin/demo/staff/{me.id}?lang=en", role="supervisor", language="zh")
    assert own.status_code == 400 and "own administration rights" in own.get_data(as_text=True)


def test_supervisor_cannot_edit_staff(app, demo):
    boss = sign_in(app.test_client(), "supervisor", demo.passwords["supervisor"])
    person = demo.staff("staff1")
    assert boss.get(f"/admin/demo/staff/{person.id}").status_code == 403
    assert boss.post(f"/admin/demo/staff/{person.id}", data={"name": "x"}).status_code in (400, 403)
    assert demo.staff("staff1").name == "窗口1工作人员"


def test_device_gets_a_token_and_a_new_one_on_request(admin, demo):
    assert form(admin, "/admin/demo/devices/new", kind="rating_pad", name="Pad 3", zone="main",
                counter="3").status_code == 302
    pad = db.session.scalar(select(Device).where(Device.name == "Pad 3"))
    old = pad.token
    assert len(old) >= 24 and pad.counter_id is not None
    bad = form(admin, f"/admin/demo/devices/{pad.id}?lang=en", counter="99", kind="rating_pad")
    assert "Unknown counter 99" in bad.get_data(as_text=True)
    assert form(admin, f"/admin/demo/devices/{pad.id}", new_token="y", kind="rating_pad").status_code == 302
    assert pad.token != old


def test_notice_needs_text_or_image(admin):
    bad = form(admin, "/admin/demo/notices/new?lang=en", text_zh="", text_en="", sort_order="0")
    assert bad.status_code == 400 and "Write a text or give an image" in bad.get_data(as_text=True)
    assert form(admin, "/admin/demo/notices/new", text_zh="午休不停办", sort_order="0").status_code == 302


def test_hall_settings_validate_time_zone(admin, demo):
    bad = form(admin, "/admin/demo/settings?lang=en", timezone="Mars/Olympus")
    assert bad.status_code == 400 and "Unknown time zone" in bad.get_data(as_text=True)
    assert form(admin, "/admin/demo/settings", complaint_phone="12365", noshow_grace_min="20").status_code == 302
    assert demo.hall.complaint_phone == "12365" and demo.hall.noshow_grace_s == 1200


def test_hall_booking_calendar(admin, demo, frozen):
    from hall.queue.booking import closed_reason

    page = admin.get("/admin/demo/settings").get_data(as_text=True)
    assert re.search(r'value="6"[^>]*checked|checked[^>]*value="6"', page)  # the server default: weekends closed
    bad = form(admin, "/admin/demo/settings?lang=en", closed_dates="2026-03-10\nnext friday")
    assert bad.status_code == 400 and "next is not a date" in bad.get_data(as_text=True)
    both = form(admin, "/admin/demo/settings?lang=en", closed_dates="2026-03-10", open_dates="2026-03-10")
    assert both.status_code == 400 and "2026-03-10 cannot be both closed and open" in both.get_data(as_text=True)
    assert demo.hall.booking_closed_dates == []  # nothing of a refused form is stored
    saved = form(admin, "/admin/demo/settings", closed_weekdays=["7"], closed_dates="2026-03-10, 2026-03-05",
                 open_dates="2026-03-08")
    assert saved.status_code == 302
    hall = demo.hall
    assert hall.booking_closed_weekdays == [7]
    assert hall.booking_closed_dates == ["2026-03-05", "2026-03-10"] and hall.booking_open_dates == ["2026-03-08"]
    assert closed_reason(hall, date(2026, 3, 7)) is None            # Saturday: this hall books on Saturdays
    assert closed_reason(hall, date(2026, 3, 8)) is None            # a Sunday made a working day
    assert closed_reason(hall, date(2026, 3, 15)) == "closed_weekday"
    assert closed_reason(hall, date(2026, 3, 10)) == "holiday"
    assert closed_reason(hall, date(2026, 3, 9)) is None


def test_new_hall_with_its_first_administrator(app, admin, demo):
    url = "/admin/demo/halls/new?lang=en"
    taken = form(admin, url, slug="demo", name_zh="第二大厅", admin_login="admin2", admin_name="二号管理员",
                 admin_password="long-enough-1")
    assert taken.status_code == 400 and "A hall demo exists already" in taken.get_data(as_text=True)
    short = form(admin, url, slug="east", name_zh="东区大厅", admin_login="admin2", admin_name="二号管理员",
                 admin_password="short")
    assert short.status_code == 400 and "At least 10 characters" in short.get_data(as_text=True)
    assert form(admin, url, slug="east", name_zh="东区大厅", admin_login="admin2", admin_name="二号管理员",
                admin_password="long-enough-1").status_code == 302
    east = sign_in(app.test_client(), "admin2", "long-enough-1")
    assert east.get("/admin/east").status_code == 200
    assert east.get("/admin/demo").status_code == 403
    assert app.test_client().get("/api/v1/halls/east/services").get_json()["services"] == []
