"""The monthly report as a one-page A4 PDF (reportlab, with a CJK font for Chinese)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from hall.reports.complaints import COMPLAINT_LABELS
from hall.reports.monthly import LABELS, UNITS

FONT = "HallCJK"
FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _font() -> str:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    for path in FONT_FILES:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            return FONT
    return "Helvetica"  # no CJK font installed: Latin text still renders


def _value(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:g}{unit}" if isinstance(value, (int, float)) else str(value)


def _table(rows: list[list[str]], widths: list[float], font: str, text_columns: int = 1) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 9), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c5ccd6")), ("ALIGN", (text_columns, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]))
    return table


def _daily_chart(days: list[dict[str, Any]], font: str) -> Drawing:
    drawing = Drawing(170 * mm, 38 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 6 * mm, 155 * mm, 28 * mm
    chart.data = [[d["served"] for d in days] or [0]]
    chart.categoryAxis.categoryNames = [d["day"].strftime("%d") for d in days] or [""]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#0b5cad")
    drawing.add(chart)
    return drawing


def monthly_pdf(report: dict[str, Any], lang: str) -> bytes:
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=21)
    heading = ParagraphStyle("heading", fontName=font, fontSize=11, leading=15, spaceBefore=7, spaceAfter=3)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.HexColor("#5b6675"))
    hall = report["hall"]
    story: list = [
        Paragraph(f"{hall.name(lang)} · {_('Monthly service-quality report')} {report['month']}", title),
        Paragraph(_("Compared with %(month)s. Satisfaction target %(target)s%% (ratings of 5, 4 or 3).",
                    month=report["previous_month"], target=f"{report['target_pct']:g}"), small),
        Paragraph(_("Headline figures"), heading),
    ]
    rows = [[_("Figure"), report["month"], report["previous_month"], _("Change")]]
    for item in report["headline"]:
        unit = UNITS.get(item["key"], "")
        change = item["change"]
        mark = "" if item["better"] is None else (" ▲" if item["better"] else " ▼")
        rows.append([str(LABELS[item["key"]]), _value(item["value"], unit), _value(item["previous"], unit),
                     ("—" if change is None else f"{change:+g}{unit}") + mark])
    story.append(_table(rows, [62 * mm, 35 * mm, 35 * mm, 35 * mm], font))
    story.append(Paragraph(_("Worst services"), heading))
    rows = [[_("Service"), _("Served"), _("Within limit"), _("Wait p90"), _("Satisfied")]]
    rows += [[s["service"], _value(s["served"]), _value(s["within_pct"], "%"), _value(s["wait_p90"], "s"),
              _value(s["satisfied_pct"], "%")] for s in report["worst_services"]]
    story.append(_table(rows, [62 * mm, 25 * mm, 27 * mm, 27 * mm, 26 * mm], font))
    if report["late_stages"]:
        story.append(Paragraph(_("Stages most often over their limit"), heading))
        rows = [[_("Service"), _("Stage"), _("Handling p90"), _("Limit"), _("Over limit")]]
        for r in report["late_stages"]:
            stage = r["stage_name_en"] if lang == "en" and r["stage_name_en"] else r["stage_name_zh"]
            service = r["service_name_en"] if lang == "en" and r["service_name_en"] else r["service_name_zh"]
            rows.append([f"{r['service']} {service}", stage, _value(r["p90"], "s"), _value(r["limit_s"], "s"),
                         _value(r["over_limit_pct"], "%")])
        story.append(_table(rows, [40 * mm, 49 * mm, 27 * mm, 25 * mm, 26 * mm], font, text_columns=2))
    story.append(Paragraph(_("Ratings (好差评)"), heading))
    rows = [[_("Rating"), _("Visits")]] + [[f"{r['level']} {r['label']}", _value(r["count"])]
                                           for r in report["rating_levels"]]
    rows += [[f"{a['label']} ({_('Average rating')})", _value(a["average"])] for a in report["aspects"]]
    rows += [[str(label), _value(report["complaints"][key], "%" if key.endswith("_pct") else "")]
             for key, label in COMPLAINT_LABELS.items()]
    story.append(_table(rows, [100 * mm, 67 * mm], font))
    story.append(Paragraph(_("Staff by satisfaction"), heading))
    rows = [[_("Name"), _("Ratings"), _("Average rating"), _("Satisfied")]]
    rows += [[r["name"], _value(r["ratings"]), _value(r["average"]), _value(r["satisfied_pct"], "%")]
             for r in report["staff_ranking"]]
    story.append(_table(rows, [70 * mm, 30 * mm, 35 * mm, 32 * mm], font))
    story.append(Paragraph(_("Cases served per day"), heading))
    story.append(_daily_chart(report["days"], font))
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph(_("Percentiles by linear interpolation between closest ranks; wait = issue to first "
                             "call; served within committed time = wait and every stage within their limits."),
                           small))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                      bottomMargin=14 * mm, title=f"{hall.slug} {report['month']}").build(story)
    return out.getvalue()
