"""Administration pages. Nothing that history refers to is deleted: it is deactivated."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import abort, after_this_request, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import ValidationError

from hall.admin import bp
from hall.admin.forms import (CounterForm, DeviceForm, HallForm, NewHallForm, NoticeForm, ServiceForm, StaffForm,
                              parse_service_lines, zone_lines)
from hall.auth import role_required
from hall.counter_schedule import breaks_text, parse_breaks, stored
from hall.extensions import db
from hall.models import (OPEN_STATUSES, Counter, CounterService, Device, Hall, Notice, Service, ServiceStage, Staff,
                         Ticket)
from hall.queue.booking import closed_weekdays
from hall.queue.lookup import hall_by_slug
from hall.realtime import end_staff_connections


HALL_FIELDS = ("name_zh", "name_en", "timezone", "opens_at", "closes_at", "reset_at", "complaint_phone",
               "public_issue", "public_name_mode", "complaint_contact_days", "complaint_rectify_days")


def _owned(model, hall: Hall, item_id: int):
    item = db.session.get(model, item_id)
    if item is None or item.hall_id != hall.id:
        abort(404)
    return item


def _form_page(form, hall: Hall, title: str, apply: Callable[[], Any], back: str = "admin.admin_home"):
    """Validate, apply and commit, or show the form again with its errors (400)."""
    if form.validate_on_submit():
        try:
            apply()
        except ValidationError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect(url_for(back, hall=hall.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/form.html", form=form, hall=hall, title=title), status


@bp.get("/admin/<hall>")
@role_required("admin")
def admin_home(hall: str):
    record = hall_by_slug(hall)
    return render_template(
        "admin/home.html", hall=record,
        services=db.session.scalars(select(Service).where(Service.hall_id == record.id)
                                    .order_by(Service.kiosk_order, Service.prefix)).all(),
        counters=db.session.scalars(select(Counter).where(Counter.hall_id == record.id)
                                    .order_by(Counter.number)).all(),
        devices=db.session.scalars(select(Device).where(Device.hall_id == record.id)
                                   .order_by(Device.kind, Device.name)).all(),
        notices=db.session.scalars(select(Notice).where(Notice.hall_id == record.id)
                                   .order_by(Notice.active.desc(), Notice.sort_order, Notice.id)).all())


def _calendar_fields(hall: Hall) -> dict[str, Any]:
    """The hall's booking calendar as the settings form shows it."""
    return {"closed_weekdays": closed_weekdays(hall), "closed_dates": "\n".join(hall.booking_closed_dates or []),
            "open_dates": "\n".join(hall.booking_open_dates or []),
            "silent_zones": "\n".join(hall.silent_zones or [])}


@bp.route("/admin/<hall>/settings", methods=["GET", "POST"])
@role_required("admin")
def hall_settings(hall: str):
    record = hall_by_slug(hall)
    form = HallForm(obj=record, noshow_grace_min=record.noshow_grace_s // 60, **_calendar_fields(record))

    def apply() -> None:
        for name in HALL_FIELDS:
            setattr(record, name, getattr(form, name).data)
        record.noshow_grace_s = form.noshow_grace_min.data * 60
        record.silent_zones = zone_lines(form.silent_zones.data)
        for name, value in form.booking_calendar().items():
            setattr(record, name, value)

    return _form_page(form, record, _("Hall settings"), apply)


@bp.route("/admin/<hall>/halls/new", methods=["GET", "POST"])
@role_required("admin")
def hall_new(hall: str):
    """Open another hall on this server; its first administrator then sets it up."""
    record = hall_by_slug(hall)
    form = NewHallForm(timezone=record.timezone, opens_at=record.opens_at, closes_at=record.closes_at,
                       reset_at=record.reset_at, noshow_grace_min=record.noshow_grace_s // 60,
                       **_calendar_fields(record))

    def apply() -> None:
        if db.session.scalar(select(Hall.id).where(Hall.slug == form.slug.data)):
            raise ValidationError(_("A hall %(slug)s exists already.", slug=form.slug.data))
        if db.session.scalar(select(Staff.id).where(Staff.login == form.admin_login.data)):
            raise ValidationError(_("Login %(login)s is taken.", login=form.admin_login.data))
        new = Hall(slug=form.slug.data, noshow_grace_s=form.noshow_grace_min.data * 60, **form.booking_calendar(),
                   silent_zones=zone_lines(form.silent_zones.data),
                   **{name: getattr(form, name).data for name in HALL_FIELDS})
        db.session.add(new)
        db.session.flush()
        first_admin = Staff(hall_id=new.id, login=form.admin_login.data, name=form.admin_name.data, role="admin")
        first_admin.set_password(form.admin_password.data)
        db.session.add(first_admin)

    return _form_page(form, record, _("New hall"), apply)


def _stage_lines(service: Service) -> str:
    return "\n".join(f"{s.code} | {s.name_zh} | {s.name_en} | {s.limit_s // 60}" for s in service.stages)


def _apply_stages(service: Service, stages: list[tuple[str, str, str, int]]) -> None:
    """Rewrite a flow; a stage with cases waiting or in progress cannot be removed."""
    kept = {code for code, *_ in stages}
    removed = [s for s in service.stages if s.code not in kept]
    if removed and service.id:
        busy = db.session.scalar(select(Ticket.number).where(
            Ticket.service_id == service.id, Ticket.status.in_(OPEN_STATUSES),
            Ticket.stage_code.in_([s.code for s in removed])).limit(1))
        if busy:
            raise ValidationError(_("Stage %(code)s still has open cases (e.g. %(number)s).",
                                    code=removed[0].code, number=busy))
    existing = {s.code: s for s in service.stages}
    for stage in service.stages:  # move out of the way of the unique (service, position)
        stage.position += 1000
    db.session.flush()
    for stage in removed:
        service.stages.remove(stage)
    db.session.flush()
    for position, (code, zh, en, limit) in enumerate(stages):
        stage = existing.get(code) or ServiceStage(code=code)
        stage.position, stage.name_zh, stage.name_en, stage.limit_s = position, zh, en, limit
        if stage not in service.stages:
            service.stages.append(stage)
    service.stages.sort(key=lambda s: s.position)


def _service_page(record: Hall, service: Service | None):
    form = ServiceForm(obj=service)
    if service is not None and not form.is_submitted():
        form.wait_limit_min.data = service.wait_limit_s // 60
        form.stages.data = _stage_lines(service)
        form.checklist.data = "\n".join(service.checklist or [])
    elif service is None and not form.is_submitted():
        form.wait_limit_min.data = 20

    def apply() -> None:
        target = service or Service(hall_id=record.id)
        prefix = form.prefix.data.upper()
        clash = db.session.scalar(select(Service).where(Service.hall_id == record.id, Service.prefix == prefix))
        if clash is not None and clash is not target:
            raise ValidationError(_("Prefix %(prefix)s is taken.", prefix=prefix))
        if service is not None and prefix != service.prefix and db.session.scalar(
                select(Ticket.id).where(Ticket.service_id == service.id).limit(1)):
            raise ValidationError(_("The prefix of a service with tickets cannot change (numbers in the history)."))
        target.prefix = prefix
        for name in ("name_zh", "name_en", "opens_at", "closes_at", "daily_capacity", "kiosk_order", "slot_minutes",
                     "slot_capacity", "real_name", "daily_limit_per_person", "active"):
            setattr(target, name, getattr(form, name).data)
        target.wait_limit_s = form.wait_limit_min.data * 60
        target.checklist = [line.strip() for line in (form.checklist.data or "").splitlines() if line.strip()]
        db.session.add(target)
        db.session.flush()
        _apply_stages(target, form.stages.parsed)

    title = _("Service %(prefix)s", prefix=service.prefix) if service else _("New service")
    return _form_page(form, record, title, apply)


@bp.route("/admin/<hall>/services/new", methods=["GET", "POST"])
@role_required("admin")
def service_new(hall: str):
    return _service_page(hall_by_slug(hall), None)


@bp.route("/admin/<hall>/services/<int:item_id>", methods=["GET", "POST"])
@role_required("admin")
def service_edit(hall: str, item_id: int):
    record = hall_by_slug(hall)
    return _service_page(record, _owned(Service, record, item_id))


def _counter_page(record: Hall, counter: Counter | None):
    form = CounterForm(obj=counter)
    if counter is not None and not form.is_submitted():
        form.services.data = "\n".join(link.service.prefix + (": " + ", ".join(link.stages) if link.stages else "")
                                       for link in counter.services)
        form.planned_breaks.data = breaks_text(counter.breaks)

    def apply() -> None:
        target = counter or Counter(hall_id=record.id)
        clash = db.session.scalar(select(Counter).where(Counter.hall_id == record.id,
                                                        Counter.number == form.number.data))
        if clash is not None and clash is not target:
            raise ValidationError(_("Counter number %(n)s is taken.", n=form.number.data))
        services = {s.prefix: s for s in db.session.scalars(select(Service).where(Service.hall_id == record.id))}
        links = []
        for rank, (prefix, stages) in enumerate(parse_service_lines(form.services.data)):
            service = services.get(prefix)
            if service is None:
                raise ValidationError(_("Unknown service %(prefix)s.", prefix=prefix))
            unknown = [c for c in stages or () if c not in {s.code for s in service.stages}]
            if unknown:
                raise ValidationError(_("Service %(prefix)s has no stage %(code)s.", prefix=prefix, code=unknown[0]))
            links.append(CounterService(service_id=service.id, rank=rank, stages=stages))
        if len({link.service_id for link in links}) != len(links):
            raise ValidationError(_("Each service may be named once."))
        if counter is not None and not form.active.data and counter.current_ticket_id:
            raise ValidationError(_("The counter holds a ticket; finish it before deactivating."))
        target.number, target.name, target.zone = form.number.data, form.name.data or "", form.zone.data
        target.active = form.active.data
        target.opens_at, target.closes_at = form.opens_at.data, form.closes_at.data
        target.breaks = stored(parse_breaks(form.planned_breaks.data))
        db.session.add(target)
        target.services.clear()
        db.session.flush()
        target.services.extend(links)

    title = _("Counter %(n)s", n=counter.number) if counter else _("New counter")
    return _form_page(form, record, title, apply)


@bp.route("/admin/<hall>/counters/new", methods=["GET", "POST"])
@role_required("admin")
def counter_new(hall: str):
    return _counter_page(hall_by_slug(hall), None)


@bp.route("/admin/<hall>/counters/<int:item_id>", methods=["GET", "POST"])
@role_required("admin")
def counter_edit(hall: str, item_id: int):
    record = hall_by_slug(hall)
    return _counter_page(record, _owned(Counter, record, item_id))


@bp.get("/admin/<hall>/staff")
@role_required("admin")
def staff_list(hall: str):
    record = hall_by_slug(hall)
    people = db.session.scalars(select(Staff).where(Staff.hall_id == record.id)
                                .order_by(Staff.active.desc(), Staff.role.desc(), Staff.login)).all()
    return render_template("admin/staff.html", hall=record, people=people)


def _staff_page(record: Hall, person: Staff | None):
    form = StaffForm(obj=person)

    def apply() -> None:
        from flask_login import current_user, login_user

        target = person or Staff(hall_id=record.id)
        clash = db.session.scalar(select(Staff).where(Staff.login == form.login.data))
        if clash is not None and clash is not target:
            raise ValidationError(_("Login %(login)s is taken.", login=form.login.data))
        if person is None and not form.password.data:
            raise ValidationError(_("A new staff member needs a password."))
        if person is not None and person.id == current_user.id and (form.role.data != "admin" or not form.active.data):
            raise ValidationError(_("You cannot take away your own administration rights."))
        if person is not None and (form.password.data or (person.active and not form.active.data)):
            staff_id = person.id
            after_this_request(lambda response: end_staff_connections(staff_id) or response)
        for name in ("login", "name", "role", "language", "active"):
            setattr(target, name, getattr(form, name).data)
        for name in ("position", "staff_no", "photo_url"):
            setattr(target, name, getattr(form, name).data or "")
        if form.password.data:
            target.set_password(form.password.data)
            if person is not None and person.id == current_user.id:
                login_user(target)  # this session goes on under the new password; the others end
        db.session.add(target)

    title = _("Staff %(login)s", login=person.login) if person else _("New staff member")
    return _form_page(form, record, title, apply, back="admin.staff_list")


@bp.route("/admin/<hall>/staff/new", methods=["GET", "POST"])
@role_required("admin")
def staff_new(hall: str):
    return _staff_page(hall_by_slug(hall), None)


@bp.route("/admin/<hall>/staff/<int:item_id>", methods=["GET", "POST"])
@role_required("admin")
def staff_edit(hall: str, item_id: int):
    record = hall_by_slug(hall)
    return _staff_page(record, _owned(Staff, record, item_id))


def _device_page(record: Hall, device: Device | None):
    form = DeviceForm(obj=device)
    if device is not None and device.counter_id and not form.is_submitted():
        form.counter.data = db.session.get(Counter, device.counter_id).number

    def apply() -> None:
        target = device or Device(hall_id=record.id, token=secrets.token_urlsafe(24))
        counter_id = None
        if form.counter.data:
            counter = db.session.scalar(select(Counter).where(Counter.hall_id == record.id,
                                                              Counter.number == form.counter.data))
            if counter is None:
                raise ValidationError(_("Unknown counter %(n)s.", n=form.counter.data))
            counter_id = counter.id
        target.kind, target.name, target.zone = form.kind.data, form.name.data, form.zone.data
        target.counter_id, target.active = counter_id, form.active.data
        if form.new_token.data and device is not None:
            target.token = secrets.token_urlsafe(24)
        db.session.add(target)

    title = _("Device %(name)s", name=device.name) if device else _("New device")
    return _form_page(form, record, title, apply)


@bp.route("/admin/<hall>/devices/new", methods=["GET", "POST"])
@role_required("admin")
def device_new(hall: str):
    return _device_page(hall_by_slug(hall), None)


@bp.route("/admin/<hall>/devices/<int:item_id>", methods=["GET", "POST"])
@role_required("admin")
def device_edit(hall: str, item_id: int):
    record = hall_by_slug(hall)
    return _device_page(record, _owned(Device, record, item_id))


def _notice_page(record: Hall, notice: Notice | None):
    form = NoticeForm(obj=notice)

    def apply() -> None:
        target = notice or Notice(hall_id=record.id)
        for name in ("text_zh", "text_en", "image_url", "zone"):
            setattr(target, name, (getattr(form, name).data or "").strip())
        target.sort_order, target.active = form.sort_order.data, form.active.data
        db.session.add(target)

    return _form_page(form, record, _("Notice") if notice else _("New notice"), apply)


@bp.route("/admin/<hall>/notices/new", methods=["GET", "POST"])
@role_required("admin")
def notice_new(hall: str):
    return _notice_page(hall_by_slug(hall), None)


@bp.route("/admin/<hall>/notices/<int:item_id>", methods=["GET", "POST"])
@role_required("admin")
def notice_edit(hall: str, item_id: int):
    record = hall_by_slug(hall)
    return _notice_page(record, _owned(Notice, record, item_id))

