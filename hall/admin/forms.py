"""Administration forms (Flask-WTF, CSRF included); text areas hold one item per line."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice
from wtforms import (BooleanField, IntegerField, PasswordField, SelectField, SelectMultipleField, StringField,
                     TextAreaField, TimeField, ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, Regexp

from hall.counter_schedule import ScheduleError, check_schedule, parse_breaks
from hall.models import DEVICE_KINDS, ROLES
from hall.validation import CheckedForm, ascii_int

CODE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


def parse_stage_lines(text: str) -> list[tuple[str, str, str, int]]:
    """"code | 中文名 | English name | limit in minutes" per line → stage tuples (limit in seconds)."""
    stages = []
    for number, line in enumerate((l for l in text.splitlines() if l.strip()), start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 4:
            raise ValidationError(_l("Line %(n)s: write code | 中文名 | English name | limit in minutes.", n=number))
        code, zh, en, minutes = parts
        if not CODE.match(code):
            raise ValidationError(_l("Line %(n)s: the code is lower-case letters, digits and _.", n=number))
        if not zh:
            raise ValidationError(_l("Line %(n)s: the Chinese name is missing.", n=number))
        limit_min = ascii_int(minutes, 1, 1440)
        if limit_min is None:
            raise ValidationError(_l("Line %(n)s: the limit is 1 to 1440 minutes.", n=number))
        stages.append((code, zh, en, limit_min * 60))
    if not stages:
        raise ValidationError(_l("A service needs at least one stage."))
    codes = [s[0] for s in stages]
    if len(set(codes)) != len(codes):
        raise ValidationError(_l("Each stage code may appear once."))
    return stages


def parse_date_lines(text: str) -> list[str]:
    """Dates, one per line (or separated by commas or spaces), as sorted unique YYYY-MM-DD."""
    found = set()
    for word in (w for w in re.split(r"[\s,，、]+", text or "") if w):
        try:
            found.add(date.fromisoformat(word).isoformat())
        except ValueError:
            raise ValidationError(_l("%(word)s is not a date: write YYYY-MM-DD.", word=word)) from None
    return sorted(found)


def parse_service_lines(text: str) -> list[tuple[str, list[str] | None]]:
    """"A" or "B: accept, review" per line, in priority order."""
    links = []
    for line in (l.strip() for l in text.splitlines() if l.strip()):
        prefix, _, stages = line.partition(":")
        codes = [c.strip() for c in stages.split(",") if c.strip()] or None
        links.append((prefix.strip().upper(), codes))
    return links


WEEKDAYS = [SelectChoice(number, name) for number, name in enumerate(
    (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday")),
    start=1)]


REAL_NAME = [SelectChoice("off", _l("No ID number")), SelectChoice("optional", _l("ID number optional")),
             SelectChoice("required", _l("ID number required (real-name tickets)"))]
PUBLIC_NAMES = [SelectChoice("number", _l("Number only")),
                SelectChoice("masked_name", _l("Number and masked name (张*三)"))]


def zone_lines(text: str | None) -> list[str]:
    """Zone names, one per line, without repeats."""
    return list(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


def closing_after_opening(form, field) -> None:
    """A form's `closes_at` check: after its `opens_at` when both are given."""
    if field.data and form.opens_at.data and field.data <= form.opens_at.data:
        raise ValidationError(_l("Closing time must be after opening time."))


class HallForm(CheckedForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=120)])
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    opens_at = TimeField(_l("Opens at"), validators=[DataRequired()])
    closes_at = TimeField(_l("Closes at"), validators=[DataRequired()])
    reset_at = TimeField(_l("Numbers restart at"), validators=[DataRequired()])
    complaint_phone = StringField(_l("Complaint phone"), validators=[Optional(), Length(max=40)])
    public_issue = BooleanField(_l("Visitors may take tickets on the web"))
    noshow_grace_min = IntegerField(_l("No-show grace (minutes)"), validators=[NumberRange(0, 240)])
    closed_weekdays = SelectMultipleField(_l("No appointments on"), choices=WEEKDAYS, coerce=int,
                                          widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    closed_dates = TextAreaField(_l("Closed dates (holidays)"), validators=[Optional()],
                                 description=_l("No appointments on these dates. One date per line, YYYY-MM-DD."))
    open_dates = TextAreaField(_l("Make-up working days"), validators=[Optional()],
                               description=_l("Appointments on these dates even on a closed weekday. "
                                              "One date per line, YYYY-MM-DD."))
    public_name_mode = SelectField(_l("Public screens and voice show"), choices=PUBLIC_NAMES, default="number",
                                   description=_l("Where a ticket carries a visitor's name (appointments)"))
    silent_zones = TextAreaField(_l("Silent zones"), validators=[Optional(), Length(max=2000)],
                                 description=_l("Display zones that call with the chime and no voice. One per line."))
    complaint_contact_days = IntegerField(_l("Complaints: contact the visitor within (working days)"),
                                          validators=[NumberRange(1, 30)], default=1)
    complaint_rectify_days = IntegerField(_l("Complaints: rectify within (working days)"),
                                          validators=[NumberRange(1, 90)], default=15)

    def validate_timezone(self, field) -> None:
        from zoneinfo import available_timezones

        if field.data not in available_timezones():
            raise ValidationError(_l("Unknown time zone, e.g. Asia/Shanghai."))

    def validate_closed_dates(self, field) -> None:
        parse_date_lines(field.data)

    def validate_open_dates(self, field) -> None:
        both = set(parse_date_lines(field.data)) & set(self._closed_dates())
        if both:
            raise ValidationError(_l("%(dates)s cannot be both closed and open.", dates=", ".join(sorted(both))))

    def _closed_dates(self) -> list[str]:
        try:
            return parse_date_lines(self.closed_dates.data)
        except ValidationError:
            return []

    def booking_calendar(self) -> dict[str, list]:
        """The validated calendar fields as the Hall columns hold them."""
        return {"booking_closed_weekdays": sorted(self.closed_weekdays.data or []),
                "booking_closed_dates": parse_date_lines(self.closed_dates.data),
                "booking_open_dates": parse_date_lines(self.open_dates.data)}


class ServiceForm(CheckedForm):
    prefix = StringField(_l("Prefix"), validators=[DataRequired(), Regexp(r"^[A-Za-z]{1,4}$",
                                                                          message=_l("One to four letters."))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=120)])
    wait_limit_min = IntegerField(_l("Committed wait limit (minutes)"), validators=[NumberRange(1, 1440)])
    stages = TextAreaField(_l("Flow of stages"), validators=[DataRequired()],
                           description=_l("One stage per line: code | 中文名 | English name | limit in minutes"))
    opens_at = TimeField(_l("Opens at"), validators=[Optional()])
    closes_at = TimeField(_l("Closes at"), validators=[Optional()])
    daily_capacity = IntegerField(_l("Daily capacity"), validators=[Optional(), NumberRange(1, 100000)],
                                  description=_l("Empty: no limit"))
    kiosk_order = IntegerField(_l("Kiosk order"), validators=[NumberRange(0, 999)], default=0)
    checklist = TextAreaField(_l("Required materials"), validators=[Optional(), Length(max=4000)],
                              description=_l("One item per line (shown in the one-time notice)"))
    slot_minutes = IntegerField(_l("Appointment slot (minutes)"), validators=[NumberRange(5, 240)], default=30)
    slot_capacity = IntegerField(_l("Appointments per slot"), validators=[NumberRange(0, 500)], default=4)
    real_name = SelectField(_l("Real-name tickets"), choices=REAL_NAME, default="off",
                            description=_l("The kiosk asks for the visitor's resident ID number (anti-scalping)"))
    daily_limit_per_person = IntegerField(_l("Tickets per person and day"),
                                          validators=[Optional(), NumberRange(1, 100)],
                                          description=_l("Per ID number; empty: no limit"))
    active = BooleanField(_l("Active"), default=True)

    def validate_stages(self, field) -> None:
        field.parsed = parse_stage_lines(field.data or "")

    validate_closes_at = closing_after_opening


class CounterForm(CheckedForm):
    number = IntegerField(_l("Number"), validators=[DataRequired(), NumberRange(1, 9999)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=60)])
    zone = StringField(_l("Zone"), validators=[DataRequired(), Length(max=40)], default="main")
    services = TextAreaField(_l("Services in priority order"), validators=[DataRequired()],
                             description=_l("One per line: a prefix, or prefix: stage codes (e.g. B: accept, review)"))
    opens_at = TimeField(_l("Opens at"), validators=[Optional()], description=_l("Empty: when the hall opens"))
    closes_at = TimeField(_l("Closes at"), validators=[Optional()], description=_l("Empty: when the hall closes"))
    planned_breaks = TextAreaField(_l("Planned breaks"), validators=[Optional(), Length(max=2000)],
                                   description=_l("One per line, e.g. 12:00-12:30. Wait estimates count on them."))
    active = BooleanField(_l("Active"), default=True)

    validate_closes_at = closing_after_opening

    def validate_planned_breaks(self, field) -> None:
        """Breaks in order, not overlapping, inside the opening hours (when those are in order)."""
        opens, closes = self.opens_at.data, self.closes_at.data
        try:
            check_schedule(opens, closes if not (opens and closes and closes <= opens) else None,
                           parse_breaks(field.data))
        except ScheduleError as error:
            raise ValidationError(error.args[0]) from None


class StaffForm(CheckedForm):
    login = StringField(_l("Login"), validators=[DataRequired(), Regexp(r"^[A-Za-z0-9._-]{2,60}$",
                                                                        message=_l("2–60 letters, digits, . _ -"))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r) for r in ROLES])
    position = StringField(_l("Post (on the counter card)"), validators=[Optional(), Length(max=120)])
    staff_no = StringField(_l("Staff number"), validators=[Optional(), Length(max=40)])
    photo_url = StringField(_l("Photo URL"), validators=[Optional(), URL(require_tld=False), Length(max=500)])
    language = SelectField(_l("Language"), choices=[SelectChoice("zh", "中文"), SelectChoice("en", "English")])
    password = PasswordField(_l("New password"), validators=[Optional(), Length(min=8, max=200)],
                             description=_l("Leave empty to keep the current password"))
    active = BooleanField(_l("Active"), default=True)


class DeviceForm(CheckedForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, k) for k in DEVICE_KINDS])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    zone = StringField(_l("Zone"), validators=[DataRequired(), Length(max=40)], default="main")
    counter = IntegerField(_l("Counter number (rating pads)"), validators=[Optional(), NumberRange(1, 9999)])
    new_token = BooleanField(_l("Issue a new token (the old one stops working)"))
    active = BooleanField(_l("Active"), default=True)


class NoticeForm(CheckedForm):
    text_zh = TextAreaField(_l("Text (Chinese)"), validators=[Optional(), Length(max=500)])
    text_en = TextAreaField(_l("Text (English)"), validators=[Optional(), Length(max=500)])
    image_url = StringField(_l("Image URL"), validators=[Optional(), Length(max=500)])
    zone = StringField(_l("Zone (empty: every display)"), validators=[Optional(), Length(max=40)])
    sort_order = IntegerField(_l("Order"), validators=[NumberRange(-999, 999)], default=0)
    active = BooleanField(_l("Active"), default=True)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not any((f.data or "").strip() for f in (self.text_zh, self.text_en, self.image_url)):
            self.text_zh.errors = [*self.text_zh.errors, _l("Write a text or give an image.")]
            return False
        return valid


class NewHallForm(HallForm):
    """A new hall (branch) on this server, with its first administrator."""

    slug = StringField(_l("Short name in addresses"), validators=[
        DataRequired(), Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$", message=_l("2 to 40 lower-case letters, digits and -."))])
    admin_login = StringField(_l("Administrator login"), validators=[DataRequired(), Length(max=60)])
    admin_name = StringField(_l("Administrator name"), validators=[DataRequired(), Length(max=120)])
    admin_password = PasswordField(_l("Administrator password"), validators=[
        DataRequired(), Length(min=10, max=200, message=_l("At least 10 characters."))])
