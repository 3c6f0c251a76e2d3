"""Report pages: figures with charts and tables, CSV/XLSX exports, the monthly report (HTML and PDF)."""
from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import get_locale

from hall.auth import role_required
from hall.queue.lookup import hall_by_slug
from hall.queue.rules import today
from hall.reports import bp
from hall.reports.complaints import COMPLAINT_LABELS
from hall.reports.engine import target_pct
from hall.reports.export import to_csv, to_xlsx
from hall.reports.monthly import LABELS, UNITS, Month, monthly_report
from hall.reports.monthly_pdf import monthly_pdf
from hall.reports.params import BadFilter, Choices, filter_args, filters_from_args, filters_or_400
from hall.reports.tables import TABLES, all_tables, report_table


def _lang() -> str:
    return str(get_locale())


@bp.get("/reports/<hall>")
@role_required("supervisor")
def reports(hall: str):
    record = hall_by_slug(hall)
    choices = Choices.of(record)
    try:
        filters = filters_from_args(record, request.args)
    except BadFilter as exc:
        return render_template("reports/reports.html", hall=record, choices=choices, error=str(exc), args={},
                               tables=[], month=str(today(record))[:7], target=target_pct()), 400
    return render_template("reports/reports.html", hall=record, choices=choices, error=None,
                           args=filter_args(filters, choices), tables=all_tables(filters, _lang()),
                           month=filters.last.isoformat()[:7], target=target_pct())


@bp.get("/reports/<hall>/export/<name>.csv")
@role_required("supervisor")
def export_csv(hall: str, name: str):
    record = hall_by_slug(hall)
    if name not in TABLES:
        abort(404, description=f"no table {name!r}")
    filters = filters_or_400(record, request.args)
    table = report_table(filters, name, _lang())
    filename = f"{record.slug}-{name}-{filters.first}-{filters.last}.csv"
    return Response(to_csv(table), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/reports/<hall>/export.xlsx")
@role_required("supervisor")
def export_xlsx(hall: str):
    record = hall_by_slug(hall)
    filters = filters_or_400(record, request.args)
    heading = f"{record.name(_lang())} {filters.first} – {filters.last}"
    filename = f"{record.slug}-report-{filters.first}-{filters.last}.xlsx"
    return Response(to_xlsx(all_tables(filters, _lang()), heading),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def _month(hall) -> Month:
    try:
        return Month.parse(request.args.get("month") or str(today(hall))[:7])
    except ValueError as exc:
        abort(400, description=str(exc))


@bp.get("/reports/<hall>/monthly")
@role_required("supervisor")
def monthly(hall: str):
    record = hall_by_slug(hall)
    report = monthly_report(record, _month(record), _lang())
    return render_template("reports/monthly.html", report=report, hall=record, labels=LABELS, units=UNITS,
                           complaint_labels=COMPLAINT_LABELS)


@bp.get("/reports/<hall>/monthly.pdf")
@role_required("supervisor")
def monthly_as_pdf(hall: str):
    record = hall_by_slug(hall)
    month = _month(record)
    pdf = monthly_pdf(monthly_report(record, month, _lang()), _lang())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename={record.slug}-{month}.pdf"})
