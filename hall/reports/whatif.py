"""Staffing what-if for supervisors: the hall's layout, simulated for a day with 𝑛 counters on one service.

The simulation runs as `flask hall simulate --json` in a child process: it moves the clock
of its own process and uses a scratch database, so the server's requests never see either.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hall.auth import role_required
from hall.config import ROOT
from hall.queue.lookup import hall_by_slug
from hall.reports import bp
from hall.sim.profile import SHIPPED
from hall.sim.whatif import MAX_OPTIONS

PROFILE_NAMES = {"light": _l("Quiet day"), "peak": _l("Busy day"), "bursty": _l("Visitors in groups")}
TIMEOUT_S = 600


@dataclass
class Question:
    profile: str
    service: str
    low: int
    high: int
    seed: int

    @property
    def spec(self) -> str:
        return f"{self.service}={self.low}..{self.high}"


class BadQuestion(ValueError):
    pass


def _question(args, prefixes: list[str]) -> Question:
    profile, service = args.get("profile", "peak"), args.get("service", "")
    if profile not in SHIPPED:
        raise BadQuestion(_("Choose one of the day profiles."))
    if service not in prefixes:
        raise BadQuestion(_("Choose a service of this hall."))
    try:
        low, high, seed = int(args.get("low", "")), int(args.get("high", "")), int(args.get("seed", "1"))
    except ValueError:
        raise BadQuestion(_("Counters and seed are whole numbers.")) from None
    if not 0 <= low <= high or high - low + 1 > MAX_OPTIONS or not 0 <= seed < 2 ** 31:
        raise BadQuestion(_("Ask for %(most)d options at most, from a low to a high number of counters.",
                            most=MAX_OPTIONS))
    return Question(profile, service, low, high, seed)


def run_simulation(slug: str, question: Question) -> list[dict[str, Any]]:
    """`flask hall simulate --hall SLUG --counters S=a..b --json` on this server's database; its options."""
    env = {**os.environ, "HALL_DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"],
           "HALL_VOICE_ENABLED": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "hall", "hall", "simulate", "--hall", slug, "--profile",
         question.profile, "--seed", str(question.seed), "--counters", question.spec, "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        raise BadQuestion(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "simulation failed")
    return json.loads(done.stdout)["options"]


@bp.get("/reports/<hall>/whatif")
@role_required("supervisor")
def whatif(hall: str):
    record = hall_by_slug(hall)
    prefixes = [s.prefix for s in record.services if s.active]
    options, error, status, question = None, None, 200, None
    if "service" in request.args:
        try:
            question = _question(request.args, prefixes)
            options = run_simulation(record.slug, question)
        except BadQuestion as exc:
            error, status = str(exc), 400
        except subprocess.TimeoutExpired:
            error, status = _("The simulation took too long; ask for fewer options."), 504
    return render_template("reports/whatif.html", hall=record, profiles=PROFILE_NAMES, question=question,
                           args=request.args, options=options, error=error), status
