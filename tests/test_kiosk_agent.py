"""The kiosk agent against a real server process: prints each job once, reports it, never reprints."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests
from sqlalchemy import select

from hall.extensions import db
from hall.models import Device, PrintJob
from kiosk.agent import Agent, Journal
from printer.backends import PrinterConfig

ROOT = Path(__file__).resolve().parent.parent


def take(server, device: Device, key: str) -> dict:
    answer = requests.post(f"{server.url}/api/v1/halls/demo/kiosk/tickets", timeout=10,
                           json={"service": "A", "idempotency_key": key}, headers={"X-Device-Token": device.token})
    assert answer.status_code == 201
    return answer.json()


def jobs() -> dict[str, str]:
    db.session.rollback()
    return {job.id: job.status for job in db.session.scalars(select(PrintJob))}


def test_agent_prints_each_job_once_and_survives_a_lost_acknowledgement(live_server, app, tmp_path):
    device = db.session.scalar(select(Device).where(Device.kind == "kiosk"))
    device.printer = {"placement": "agent"}
    db.session.commit()
    first = take(live_server, device, "tap-agent-0001")
    assert first["print"] == {"status": "pending", "fault": None, "attempts": 0}

    out, journal = tmp_path / "printer.bin", tmp_path / "agent.journal"
    command = [sys.executable, "-m", "kiosk.agent", "--server", live_server.url, "--device", device.token,
               "--printer", f'{{"backend": "file", "path": "{out}"}}', "--journal", str(journal), "--once"]
    subprocess.run(command, cwd=ROOT, check=True, timeout=60, capture_output=True)
    assert out.read_bytes().count(b"A001") == 1 and out.read_bytes().startswith(b"\x1b@")
    assert f"/t/{first['ticket']['token']}".encode() in out.read_bytes()
    assert list(jobs().values()) == ["printed"]
    subprocess.run(command, cwd=ROOT, check=True, timeout=60, capture_output=True)
    assert out.read_bytes().count(b"A001") == 1

    # The agent printed A002 but its acknowledgement was lost: the next poll reports it without printing.
    take(live_server, device, "tap-agent-0002")
    agent = Agent(live_server.url, device.token, PrinterConfig("file", path=str(out)), Journal(journal))
    second_id = max(jobs())
    agent.journal.write(second_id, "printed")
    assert agent.poll_once() == 0
    assert jobs()[second_id] == "printed" and out.read_bytes().count(b"A002") == 0

    # The agent died while printing A003: reported as a fault, not printed again.
    take(live_server, device, "tap-agent-0003")
    third_id = max(jobs())
    agent.journal.write(third_id, "started")
    assert Agent(live_server.url, device.token, PrinterConfig("file", path=str(out)), Journal(journal)).poll_once() == 0
    assert jobs()[third_id] == "failed" and out.read_bytes().count(b"A003") == 0


def test_agent_needs_a_kiosk_token(live_server):
    answer = requests.get(f"{live_server.url}/api/v1/kiosk/print-jobs", headers={"X-Device-Token": "nope"}, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
