"""Kiosk agent: runs on the kiosk PC and prints the kiosk's tickets on its local printer.

    python -m kiosk.agent --server http://hall.local:5000 --device <kiosk token> \
        --printer '{"backend": "usb", "usb_vendor": "0x0416", "usb_product": "0x5011"}'

It asks the server every `--interval` seconds for the kiosk's pending print jobs (HTTP, so it
works through any proxy), sends each job's ESC/POS bytes to the printer once and reports the
outcome. A journal file records every job before it is printed: after a crash or a lost
acknowledgement the job is reported again but never printed again.
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import time
from pathlib import Path

import requests

from printer.backends import PrinterConfig, printer_config_from_dict
from printer.delivery import DeliveryResult, deliver

log = logging.getLogger("kiosk.agent")
#: Outcome reported for a job the journal shows as started but not finished (the agent died printing).
INTERRUPTED = DeliveryResult(ok=False, fault="error", message="the kiosk agent stopped while printing")


class Journal:
    """Append-only file of `<job id> <state>` lines: `started`, then `printed` or `failed:<fault>`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.states: dict[int, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                job_id, _, state = line.partition(" ")
                if job_id.isdigit():
                    self.states[int(job_id)] = state

    def write(self, job_id: int, state: str) -> None:
        self.states[job_id] = state
        with self.path.open("a") as out:
            out.write(f"{job_id} {state}\n")
            out.flush()
            os.fsync(out.fileno())

    def outcome(self, job_id: int) -> DeliveryResult | None:
        """What happened to a job already handled, or None for a new job."""
        state = self.states.get(job_id)
        if state is None:
            return None
        if state == "printed":
            return DeliveryResult(ok=True, fault=None, message="printed")
        if state.startswith("failed:"):
            return DeliveryResult(ok=False, fault=state.removeprefix("failed:"), message="not printed")
        return INTERRUPTED


class Agent:
    def __init__(self, server: str, device_token: str, printer: PrinterConfig, journal: Journal,
                 timeout_s: float = 10) -> None:
        self.server = server.rstrip("/")
        self.printer = printer
        self.journal = journal
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.http.headers["X-Device-Token"] = device_token

    def poll_once(self) -> int:
        """Print every pending job once and report it; returns how many jobs were printed now."""
        answer = self.http.get(f"{self.server}/api/v1/kiosk/print-jobs", timeout=self.timeout_s)
        answer.raise_for_status()
        printed = 0
        for job in answer.json()["jobs"]:
            result = self.journal.outcome(job["id"])
            if result is None:
                result = self._print(job)
                printed += result.ok
            self._report(job["id"], result)
        return printed

    def _print(self, job: dict) -> DeliveryResult:
        self.journal.write(job["id"], "started")
        result = deliver(base64.b64decode(job["data"]), self.printer)
        self.journal.write(job["id"], "printed" if result.ok else f"failed:{result.fault}")
        log.info("job %s (%s): %s", job["id"], job["number"], result.message)
        return result

    def _report(self, job_id: int, result: DeliveryResult) -> None:
        self.http.post(f"{self.server}/api/v1/kiosk/print-jobs/{job_id}", timeout=self.timeout_s,
                       json={"ok": result.ok, "fault": result.fault, "message": result.message[:500]}
                       ).raise_for_status()

    def run(self, interval_s: float) -> None:
        while True:
            try:
                self.poll_once()
            except requests.RequestException as exc:  # the server is down or the network blips: ask again
                log.warning("server unreachable: %s", exc)
            time.sleep(interval_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="base URL of the Hall server")
    parser.add_argument("--device", default=os.environ.get("HALL_KIOSK_DEVICE"),
                        help="the kiosk's device token (or HALL_KIOSK_DEVICE)")
    parser.add_argument("--printer", required=True, help='printer table as JSON, e.g. {"backend": "usb", ...}')
    parser.add_argument("--journal", default="kiosk-agent.journal", help="file of the jobs already handled")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--once", action="store_true", help="poll once and exit")
    args = parser.parse_args(argv)
    if not args.device:
        parser.error("give the kiosk's device token with --device or HALL_KIOSK_DEVICE")
    try:
        printer = printer_config_from_dict(json.loads(args.printer))
    except (ValueError, TypeError) as exc:
        parser.error(f"--printer: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    agent = Agent(args.server, args.device, printer, Journal(Path(args.journal)))
    if args.once:
        agent.poll_once()
    else:
        agent.run(args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
