"""Kiosk tickets on a real (loopback) network printer: printed once, faults recorded as alarms,
the ticket valid whatever the printer does, and a retried tap never printing twice."""
from __future__ import annotations

import re
import socket
import time

import pytest
from sqlalchemy import select

from hall.extensions import db
from hall.models import Alarm, Device, PrintJob, Ticket
from tests.test_printer_delivery import HEALTHY, PAPER_OUT, fake_printer, wait_for

ESC_INIT, CUT = b"\x1b@", b"\x1dV"


@pytest.fixture
def kiosk(demo) -> Device:
    return db.session.scalar(select(Device).where(Device.hall_id == demo.id, Device.kind == "kiosk"))


def use_printer(device: Device, **table) -> None:
    device.printer = table
    db.session.commit()


def network(port: int, timeout_s: float = 0.5) -> dict:
    return {"backend": "network", "host": "127.0.0.1", "port": port, "timeout_s": timeout_s}


def tap(client, device: Device, key: str = "tap-00000001", service: str = "A"):
    return client.post("/api/v1/halls/demo/kiosk/tickets", json={"service": service, "idempotency_key": key},
                       headers={"X-Device-Token": device.token})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_alarms() -> list[Alarm]:
    db.session.expire_all()
    return db.session.scalars(select(Alarm).where(Alarm.cleared_at.is_(None))).all()


def test_network_printer_receives_the_ticket_once(app, kiosk, frozen):
    client = app.test_client()
    with fake_printer(HEALTHY) as printer:
        use_printer(kiosk, **network(printer.port))
        answer = tap(client, kiosk)
        again = tap(client, kiosk)
        time.sleep(0.2)  # a second print would arrive now
    assert answer.status_code == 201 and again.status_code == 200
    token = answer.json["ticket"]["token"]
    assert answer.json["print"]["status"] == "printed" and again.json["print"]["status"] == "printed"
    assert answer.json["status_url"] == f"http://localhost/t/{token}"
    assert printer.connections == 1
    data = printer.printed
    assert data.startswith(ESC_INIT) and CUT in data[-8:]
    assert b"A001" in data and f"/t/{token}".encode() in data
    assert "业务咨询".encode("gb18030") in data and b"Consultation" in data
    job = db.session.scalar(select(PrintJob))
    assert (job.status, job.attempts, job.device_id) == ("printed", 1, kiosk.id)


def test_refusing_printer_still_issues_raises_an_alarm_and_never_prints_twice(app, kiosk, frozen):
    client = app.test_client()
    use_printer(kiosk, **network(closed_port()))
    answer = tap(client, kiosk)
    assert answer.status_code == 201
    assert answer.json["print"] == {"status": "failed", "fault": "offline", "attempts": 1}
    token = answer.json["ticket"]["token"]
    assert client.get(f"/api/v1/tickets/{token}").json["status"] == "waiting"
    [alarm] = open_alarms()
    assert (alarm.kind, alarm.subject, alarm.data["fault"]) == ("printer_fault", f"device:{kiosk.id}", "offline")
    assert "A001" in alarm.message
    with fake_printer(HEALTHY) as printer:  # the printer is back: a retry of the same tap still prints nothing
        use_printer(kiosk, **network(printer.port))
        again = tap(client, kiosk)
        time.sleep(0.2)
    assert again.status_code == 200 and again.json["ticket"]["token"] == token
    assert again.json["print"]["status"] == "failed"
    assert printer.connections == 0
    assert db.session.query(Ticket).count() == 1 and db.session.query(PrintJob).count() == 1


def test_hanging_printer_holds_the_answer_no_longer_than_its_timeout(app, kiosk, frozen):
    client = app.test_client()
    with fake_printer(None) as printer:
        use_printer(kiosk, **network(printer.port, timeout_s=0.5))
        started = time.monotonic()
        answer = tap(client, kiosk)
        elapsed = time.monotonic() - started
        token = answer.json["ticket"]["token"]

        def status() -> dict:
            db.session.rollback()  # the test shares the requests' session: leave its old snapshot
            return client.get(f"/api/v1/halls/demo/kiosk/tickets/{token}/print").json

        wait_for(lambda: status()["status"] == "failed", seconds=5)
        assert status() == {"status": "failed", "fault": "timeout", "attempts": 1}
        again = tap(client, kiosk)
        assert again.status_code == 200 and printer.connections == 1
    assert answer.status_code == 201 and elapsed < 1.5
    assert answer.json["print"]["status"] in ("pending", "failed")
    [alarm] = open_alarms()
    assert alarm.data["fault"] == "timeout"


def test_paper_out_then_a_good_print_clears_the_alarm(app, kiosk, frozen):
    client = app.test_client()
    with fake_printer(PAPER_OUT) as printer:
        use_printer(kiosk, **network(printer.port))
        assert tap(client, kiosk, "tap-00000001").json["print"]["fault"] == "paper_out"
        assert tap(client, kiosk, "tap-00000002").json["print"]["fault"] == "paper_out"
    [alarm] = open_alarms()  # one open alarm per device, refreshed with the latest ticket
    assert "A002" in alarm.message
    with fake_printer(HEALTHY) as printer:
        use_printer(kiosk, **network(printer.port))
        assert tap(client, kiosk, "tap-00000003").json["print"]["status"] == "printed"
    assert open_alarms() == []


def test_file_backend_from_config_for_a_kiosk_without_its_own_printer(app, kiosk, frozen, tmp_path):
    path = tmp_path / "tickets.bin"
    app.config["HALL"]["printer"].update(backend="file", path=str(path))
    try:
        answer = app.test_client().post("/api/v1/halls/demo/kiosk/tickets",
                                        json={"service": "B", "idempotency_key": "tap-00000009"})
    finally:
        app.config["HALL"]["printer"].update(backend="none", path="")
    assert answer.json["print"]["status"] == "printed"
    data = path.read_bytes()
    assert b"B001" in data and "监督电话".encode("gb18030") in data
    assert db.session.scalar(select(PrintJob.device_id)) is None


def test_default_config_prints_nothing_and_records_no_job(app, kiosk, frozen):
    answer = tap(app.test_client(), kiosk)
    assert answer.json["print"] == {"status": "disabled", "fault": None}
    assert db.session.query(PrintJob).count() == 0


def test_wrong_printer_setting_is_a_recorded_fault(app, kiosk, frozen):
    use_printer(kiosk, backend="network")  # no host
    answer = tap(app.test_client(), kiosk)
    assert answer.status_code == 201
    assert (answer.json["print"]["status"], answer.json["print"]["fault"]) == ("failed", "config")
    assert "host" in open_alarms()[0].message


def test_public_url_is_the_base_of_the_qr_link(app, kiosk, frozen):
    app.config["HALL"]["server"]["public_url"] = "https://hall.example.org/"
    try:
        answer = tap(app.test_client(), kiosk)
    finally:
        app.config["HALL"]["server"]["public_url"] = ""
    assert answer.json["status_url"] == f"https://hall.example.org/t/{answer.json['ticket']['token']}"
    assert answer.json["qr_svg"].startswith("<svg")


def scanned(svg: str) -> str:
    """What a phone reads off the kiosk's QR code: the SVG's squares drawn 8 pixels a module, decoded."""
    from PIL import Image, ImageDraw
    import zxingcpp

    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    image = Image.new("L", (size * 8, size * 8), 255)
    draw = ImageDraw.Draw(image)
    for x, y in re.findall(r"M(\d+),(\d+)H", svg):
        draw.rectangle((int(x) * 8, int(y) * 8, int(x) * 8 + 7, int(y) * 8 + 7), fill=0)
    [code] = zxingcpp.read_barcodes(image)
    return code.text


def test_the_qr_code_of_every_ticket_scans_as_its_status_link(app, kiosk, frozen):
    client = app.test_client()
    for n in range(5):
        answer = tap(client, kiosk, key=f"tap-qr-{n:06d}").json
        assert answer["qr_svg"].startswith("<svg") and scanned(answer["qr_svg"]) == answer["status_url"]


def test_a_qr_svg_is_what_qrcodes_own_svg_image_draws_of_the_same_code():
    import qrcode
    import qrcode.image.svg

    from hall.qr import BORDER, MASK_PATTERN, qr_svg

    link = "https://hall.example.org/t/9fK2mQ7xZ0aLbT4nR8sVwE"
    code = qrcode.QRCode(border=BORDER, mask_pattern=MASK_PATTERN, image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(link)
    code.make(fit=True)
    assert qr_svg(link) == code.make_image().to_string(encoding="unicode")


def test_print_preview_is_a_png_of_the_ticket(app, kiosk, frozen):
    from PIL import Image
    import io
    import zxingcpp

    client = app.test_client()
    token = tap(client, kiosk).json["ticket"]["token"]
    response = client.get(f"/kiosk/demo/tickets/{token}/print-preview")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.width == 576 and image.height > 600
    [code] = zxingcpp.read_barcodes(image.convert("L"))
    assert code.text == f"http://localhost/t/{token}"
    assert client.get("/kiosk/demo/tickets/nope/print-preview").status_code == 404
