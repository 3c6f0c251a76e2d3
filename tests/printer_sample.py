"""A fixed ticket shared by the printer tests."""

from datetime import datetime, timedelta, timezone

from printer.layout import TicketPrint

SAMPLE_TICKET = TicketPrint(
    hall_name="滨江区政务服务中心",
    service_name_zh="社保业务",
    service_name_en="Social Insurance",
    number="A023",
    issued_at=datetime(2025, 3, 14, 9, 26, tzinfo=timezone(timedelta(hours=8))),
    people_ahead=7,
    estimated_wait_s=1260,
    status_url="https://hall.example.org/t/A023-7f3k9q",
    footer="监督电话 12345 / Complaints: 12345",
    notice_lines=("请携带身份证原件及复印件 / Please bring your ID card and a copy",),
)
