"""Administration of the government-hall settings: a service's real-name tickets and daily limit per person,
the hall's public name mode, silent zones and complaint deadlines (zh and en forms)."""
from __future__ import annotations

from sqlalchemy import select

from hall.extensions import db
from hall.models import Hall, Service
from tests.test_admin import admin, form  # noqa: F401  (admin is a fixture)


def test_service_real_name_and_daily_limit(admin, demo):
    service = db.session.scalar(select(Service).where(Service.prefix == "C"))
    url = f"/admin/demo/services/{service.id}?lang=en"
    page = admin.get(url).get_data(as_text=True)
    assert "Real-name tickets" in page and "Tickets per person and day" in page
    assert "实名取号" in admin.get(f"/admin/demo/services/{service.id}?lang=zh").get_data(as_text=True)
    assert form(admin, url, real_name="bogus").status_code == 400
    assert form(admin, url, daily_limit_per_person="0").status_code == 400
    assert form(admin, url, real_name="optional", daily_limit_per_person="3").status_code == 302
    db.session.refresh(service)
    assert (service.real_name, service.daily_limit_per_person) == ("optional", 3)
    assert form(admin, url, real_name="off", daily_limit_per_person="").status_code == 302
    db.session.refresh(service)
    assert (service.real_name, service.daily_limit_per_person) == ("off", None)


def test_hall_public_names_silent_zones_and_complaint_deadlines(admin, demo):
    url = "/admin/demo/settings?lang=en"
    assert "Silent zones" in admin.get(url).get_data(as_text=True)
    assert form(admin, url, complaint_contact_days="0").status_code == 400
    saved = form(admin, url, public_name_mode="masked_name", silent_zones="night\nmain\nnight",
                 complaint_contact_days="2", complaint_rectify_days="10")
    assert saved.status_code == 302
    hall = db.session.scalar(select(Hall).where(Hall.slug == "demo"))
    db.session.refresh(hall)
    assert (hall.public_name_mode, hall.silent_zones) == ("masked_name", ["night", "main"])
    assert (hall.complaint_contact_days, hall.complaint_rectify_days) == (2, 10)
