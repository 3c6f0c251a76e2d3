"""Report pages, CSV/XLSX exports, the monthly report (HTML and PDF) and who may open them."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from hall.reports.engine import Filters, figures
from tests.supervisor_support import DAY, scripted, sign_in  # noqa: F401  (scripted is a fixture)

RANGE = "from=2026-03-02&to=2026-03-02"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def boss(app, demo):
    return sign_in(app.test_client(), "supervisor", demo.passwords["supervisor"])


def test_reports_page_shows_figures_tables_and_help(boss, scripted):
    html = boss.get(f"/reports/demo?{RANGE}&lang=en").get_data(as_text=True)
    assert 'data-figure="wait_p90"' in html and "928" in html
    for name in ("summary", "day", "hour", "service", "counter", "staff", "stage"):
        assert f'id="table-{name}"' in html and f"/reports/demo/export/{name}.csv" in html
    assert "linear interpolation" in html and "/static/vendor/chart.umd.min.js" in html
    zh = boss.get(f"/reports/demo?{RANGE}&lang=zh").get_data(as_text=True)
    assert "线性插值" in zh and "按服务" in zh


def test_bad_filters_are_clear_400s(boss, demo):
    response = boss.get("/reports/demo?from=2026-02-30&lang=en")
    assert response.status_code == 400 and "from must be a date" in response.get_data(as_text=True)
    assert boss.get("/reports/demo?service=Z").status_code == 400
    assert boss.get("/reports/demo/export/summary.csv?hour=24").status_code == 400
    assert boss.get("/reports/demo/export/nothing.csv").status_code == 404
    assert boss.get("/reports/demo/monthly?month=2026-13").status_code == 400
    api = boss.get("/api/v1/halls/demo/stats/report?by=week")
    assert api.status_code == 400 and "by must be one of" in api.json["message"]


def test_xlsx_holds_the_same_numbers(boss, demo, scripted):
    response = boss.get(f"/reports/demo/export.xlsx?{RANGE}&lang=en")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["summary", "day", "hour", "service", "counter", "staff", "stage", "complaints"]
    sheet = book["summary"]
    header = [c.value for c in sheet[3]]
    values = dict(zip(header, [c.value for c in sheet[4]]))
    expected = figures(Filters(demo.id, DAY, DAY))[0]
    assert values["Issued"] == expected["issued"] == 7
    assert values["Wait p90 (s)"] == expected["wait_s"]["p90"] == 928.0
    assert values["Served within committed time (%)"] == 50.0
    assert values["Average rating"] == 3.5
    stage = book["stage"]
    rows = {(r[0].value, r[1].value): [c.value for c in r] for r in stage.iter_rows(min_row=4)}
    assert rows[("C Certificate of origin", "Certificate")][5] == 880  # handling p90 of C's one late certificate


def test_csv_of_one_table(boss, scripted):
    response = boss.get(f"/reports/demo/export/service.csv?{RANGE}&lang=en")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["By service", "Issued", "Served"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["A Consultation"][1:3] == ["4", "2"]


def test_api_report_and_stages(boss, scripted):
    body = boss.get(f"/api/v1/halls/demo/stats/report?{RANGE}&by=hour").json
    assert [r["key"] for r in body["rows"]] == [0, 10, 23] and body["rows"][2]["label"] == "23:00"
    stages = boss.get(f"/api/v1/halls/demo/stats/stages?{RANGE}").json["rows"]
    assert stages[0]["service"] == "A" and stages[0]["count"] == 2
    summary = boss.get(f"/api/v1/halls/demo/stats/summary?{RANGE}").json
    assert summary["wait_s"]["p90"] == 928.0 and summary["handling_s"]["consult"]["count"] == 2


def test_monthly_report_html_and_pdf(boss, scripted):
    html = boss.get("/reports/demo/monthly?month=2026-03&lang=en").get_data(as_text=True)
    assert "Monthly service-quality report" in html and "2026-02" in html
    assert 'data-key="within_pct"' in html and "50%" in html
    response = boss.get("/reports/demo/monthly.pdf?month=2026-03&lang=zh")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "monthly-report-zh.pdf"
    pdf.write_bytes(response.data)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
                       check=True)
        assert pdf.with_suffix(".png").stat().st_size > 20_000
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "月" in text or "Monthly" in text


def test_role_checks(app, demo):
    staff = sign_in(app.test_client(), "staff1", demo.passwords["staff1"])
    for url in ("/reports/demo", "/reports/demo/export.xlsx", "/reports/demo/monthly", "/monitor/demo",
                "/admin/demo", "/admin/demo/staff"):
        assert staff.get(url).status_code == 403, url
    anonymous = app.test_client()
    assert anonymous.get("/reports/demo").status_code in (302, 401)
    boss = sign_in(app.test_client(), "supervisor", demo.passwords["supervisor"])
    assert boss.get("/reports/demo").status_code == 200 and boss.get("/monitor/demo").status_code == 200
    assert boss.get("/admin/demo/staff").status_code == 403
    admin = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    assert admin.get("/admin/demo/staff").status_code == 200 and admin.get("/reports/demo").status_code == 200


EVIL_NAME = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def evil_staff(demo, scripted):
    """A staff member whose name is a spreadsheet formula, with tickets in the report."""
    from hall.extensions import db

    person = demo.staff("staff1")
    person.name = EVIL_NAME
    db.session.commit()
    return person


def test_csv_exports_escape_formula_cells(boss, evil_staff):
    """OWASP CSV injection: every cell starting with = + - @ tab or CR is prefixed with an apostrophe."""
    from hall.reports.export import csv_cell

    for name in ("staff", "summary", "day", "hour", "service", "counter", "stage"):
        text = boss.get(f"/reports/demo/export/{name}.csv?{RANGE}&lang=en").get_data(as_text=True)
        for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), (name, row)
    staff_rows = boss.get(f"/reports/demo/export/staff.csv?{RANGE}&lang=en").get_data(as_text=True)
    assert "'" + EVIL_NAME in staff_rows.replace('""', '"')
    assert [csv_cell(v) for v in ("+1", "-x", "@a", "\tt", "\rr", "ok", -5, 2.5, None)] == \
        ["'+1", "'-x", "'@a", "'\tt", "'\rr", "ok", -5, 2.5, ""]


def test_xlsx_export_holds_no_formulas(boss, evil_staff):
    response = boss.get(f"/reports/demo/export.xlsx?{RANGE}&lang=en")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert EVIL_NAME in [cell.value for cell in cells]  # the visible text is kept
