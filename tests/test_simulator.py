"""The simulator: a day through the real engine, deterministic, in agreement with the reports and with theory."""
from __future__ import annotations

import json
import math
import statistics
import tomllib
from datetime import date, datetime, time

import pytest
from flask import current_app
from sqlalchemy import select

from hall.demo import DEMO_LAYOUT
from hall.extensions import db
from hall.models import Counter, TicketEvent
from hall.reports.engine import Filters, figures
from hall.sim.figures import FIELDS
from hall.sim.fit import fit_profile
from hall.sim.layout import CounterLayout, Layout, ServiceLayout, StageLayout, layout_of
from hall.sim.profile import SHIPPED, load_profile, parse_profile
from hall.sim.run import simulate, simulate_into

DAY = date(2026, 3, 2)

SMALL = """
opens = "09:00"
[arrivals]
priority_share = 0.1
appointment_share = 0.1
no_show = 0.1
transfer = 0.1
rating_share = 0.5
[counters]
opens = "09:00"
closes = "11:00"
break_min = 20
breaks_from = "09:40"
breaks_until = "10:20"
[services.A]
per_hour = [10, 6]
handling.consult = { median_s = 240, spread = 0.5 }
[services.B]
per_hour = [3, 2]
handling.accept = { median_s = 200 }
handling.inspect = { median_s = 200 }
handling.review = { median_s = 150 }
handling.certificate = { median_s = 100 }
[services.C]
per_hour = [3, 3]
handling.certificate = { median_s = 200 }
"""


@pytest.fixture
def small():
    return parse_profile(tomllib.loads(SMALL), "small")


def test_the_shipped_profiles_load():
    for name in SHIPPED:
        profile = load_profile(name)
        assert set(profile.services) == {"A", "B", "C"} and profile.schedule.break_min > 0
    assert load_profile("bursty").burst_mean > 1


def test_same_seed_same_trace_other_seed_other_trace(app, small):
    first, again, other = [], [], []
    figures_first = simulate([DEMO_LAYOUT], small, 7, DAY, first)
    figures_again = simulate([DEMO_LAYOUT], small, 7, DAY, again)
    simulate([DEMO_LAYOUT], small, 8, DAY, other)
    assert first == again and figures_first == figures_again
    assert first != other
    kinds = {kind for _, kind, _, _ in first[0]}
    # the day used every engine action the profile asks for
    assert {"issued", "called", "started", "stage_finished", "finished", "no_show", "transferred",
            "counter_open", "counter_paused", "counter_closed"} <= kinds


def test_report_and_simulator_agree_on_one_day(app, demo, small):
    """The day is simulated in the demo hall; the report API shows exactly the simulator's figures."""
    simulated = simulate_into(demo.hall, small, 3, DAY)
    assert simulated["issued"] > 20 and simulated["served"] > 0
    answer = app.test_client().get(f"/api/v1/halls/demo/stats/report?from={DAY}&to={DAY}",
                        headers={"Authorization": f"Bearer {demo.token('supervisor')}"})
    report = answer.get_json()["rows"][0]
    assert (report["issued"], report["served"]) == (simulated["issued"], simulated["served"])
    assert report["wait_s"]["avg"] == simulated["wait_avg_s"] and report["wait_s"]["p90"] == simulated["wait_p90_s"]
    assert report["served_within_target_pct"] == simulated["served_within_limit_pct"]
    assert report["utilisation_pct"] == simulated["utilisation_pct"] > 0
    assert report["estimate"]["mae_s"] == simulated["estimate_mae_s"]
    assert simulated["estimate_mae_pct"] == round(100 * report["estimate"]["mae_s"] / report["wait_s"]["avg"], 1)
    # the hall's counters had no schedule of their own: the day followed the profile's, and stored none
    assert all((c.opens_at, c.closes_at, c.breaks) == (None, None, None) for c in demo.hall.counters)

    fitted = fit_profile(demo.hall, DAY, DAY)  # --fit-from: the profile read back from that day
    assert set(fitted.services) == {"A", "B", "C"} and fitted.opens.hour == 9
    assert sum(sum(service.per_hour) for service in fitted.services.values()) == simulated["issued"]  # one day
    assert 100 < fitted.services["A"].handling["consult"].median_s < 500 and 0 < fitted.no_show < 0.5
    assert set(fitted.services["B"].handling) <= {"accept", "inspect", "review", "certificate"}


def _erlang_c_wait_s(arrivals_per_s: float, service_s: float, servers: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = arrivals_per_s * service_s
    top = a ** servers / math.factorial(servers) * servers / (servers - a)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers / service_s - arrivals_per_s)


@pytest.mark.slow
def test_mmc_mean_wait_matches_erlang_c(app):
    """One service, Poisson arrivals, exponential handling, 2 counters (ρ = 0.6) over 12 hours.

    The tolerance is three standard errors of the mean wait, from hourly batch means of this
    run (the first hour, which starts empty, is left out), plus one second of rounding.
    """
    per_hour, mean_s, servers, hours = 20, 216, 2, 12
    profile = parse_profile({
        "opens": "07:00", "arrivals": {"walk_s": 0},
        "counters": {"opens": "07:00", "closes": "19:00", "break_min": 0},
        "services": {"X": {"per_hour": [per_hour] * hours,
                           "handling": {"serve": {"distribution": "exponential", "mean_s": mean_s}}}}}, "mmc")
    layout = Layout((ServiceLayout("X", "单一", "Single", 3600, (StageLayout("serve", "办理", "Serve", 3600),)),),
                    tuple(CounterLayout(n, (("X", None),)) for n in range(1, servers + 1)))
    with_hours = []

    def keep_hours(hall_id):
        with_hours.extend(figures(Filters(hall_id, DAY, DAY), "hour").values())

    import hall.sim.run as sim
    saved = sim.day_figures
    sim.day_figures = lambda hall_id, day, staffing: keep_hours(hall_id) or saved(hall_id, day, staffing)
    try:
        overall = simulate([layout], profile, 11, DAY)[0]
    finally:
        sim.day_figures = saved
    batches = [h["wait_s"]["avg"] for h in with_hours[1:] if h["wait_s"]["count"]]
    error = statistics.stdev(batches) / math.sqrt(len(batches))
    theory = _erlang_c_wait_s(per_hour / 3600, mean_s, servers)
    assert overall["issued"] > 200
    assert abs(statistics.fmean(batches) - theory) <= 3 * error + 1, (batches, theory, error)


SIM_ARGS = ["hall", "simulate", "--seed", "5", "--day", DAY.isoformat()]


def test_cli_json_is_the_public_contract_with_one_option_per_staffing(app, tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    result = app.test_cli_runner().invoke(args=[*SIM_ARGS, "--profile", str(path), "--counters", "A=1..2", "--json"])
    assert result.exit_code == 0, result.output
    options = json.loads(result.output)["options"]
    assert [o["counters"] for o in options] == [{"A": n, "B": 4, "C": 2} for n in (1, 2)]
    for option in options:
        assert set(FIELDS) <= set(option)
    waits = [o["wait_p90_s"] for o in options]
    assert waits[0] > waits[1]  # more counters, shorter waits: the same visitors in every option


def test_cli_table_and_bad_input(app, tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    result = app.test_cli_runner().invoke(args=[*SIM_ARGS, "--profile", str(path)])
    assert result.exit_code == 0 and "p90 s" in result.output and "A=2 B=4 C=2" in result.output
    for bad, message in ((["--counters", "A=5..2"], "ends before it starts"), (["--counters", "Z=2"], "no service"),
                         (["--profile", "nosuch"], "no profile"), (["--into", "nosuch"], "unknown hall"),
                         (["--counters", "B=0"], "at least 1 counters stay")):
        profile = [] if "--profile" in bad else ["--profile", str(path)]
        result = app.test_cli_runner().invoke(args=[*SIM_ARGS, *profile, *bad])
        assert result.exit_code == 2 and message in result.output, (bad, result.output)


def _plan_counter_one(demo) -> tuple[Counter, Counter]:
    """A supervisor plans counter 1's day (09:15-10:30, a break 09:30-09:50); counter 2 has no plan."""
    first, second = (db.session.scalar(select(Counter).where(Counter.hall_id == demo.id, Counter.number == n))
                     for n in (1, 2))
    first.opens_at, first.closes_at, first.breaks = time(9, 15), time(10, 30), [["09:30", "09:50"]]
    db.session.commit()
    return first, second


def test_a_what_if_on_a_copy_of_a_hall_follows_its_counters_schedule(app, demo, small):
    _plan_counter_one(demo)
    traces = []
    simulate([layout_of(demo.hall)], small, 5, DAY, traces)
    opened = {}  # counter → its openings (UTC)
    for at, what, _, counter in traces[0]:
        if what == "counter_open":
            opened.setdefault(counter, []).append(at[11:16])
    assert opened.pop(1) == ["01:15", "01:50"]  # 09:15, and back from its break at 09:50
    assert {times[0] for times in opened.values()} == {"01:00"}  # no schedule of their own: the profile's 09:00


@pytest.mark.parametrize("which", ["demo", pytest.param("pg_demo", marks=pytest.mark.postgres)])
def test_simulate_into_a_hall_follows_its_counters_schedule_and_keeps_it(request, tmp_path, which):
    """A supervisor's what-if in their own hall: counter 1's planned hours and break (set in the
    administration of counters) are what the simulated counter keeps, and are still there afterwards."""
    demo = request.getfixturevalue(which)
    first, second = _plan_counter_one(demo)
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    result = current_app.test_cli_runner().invoke(args=[*SIM_ARGS, "--profile", str(path), "--into", "demo", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["options"][0]["issued"] > 20

    db.session.expire_all()
    assert (first.opens_at, first.closes_at, first.breaks) == (time(9, 15), time(10, 30), [["09:30", "09:50"]])
    assert (second.opens_at, second.closes_at, second.breaks) == (None, None, None)  # none stored over "none"

    def changes(counter):  # (kind, local time) of the counter's status changes that day
        return [(kind, f"{at.hour + 8:02d}:{at.minute:02d}") for kind, at in db.session.execute(
            select(TicketEvent.kind, TicketEvent.at).where(TicketEvent.counter_id == counter.id,
                                                           TicketEvent.kind.like("counter_%"))
            .order_by(TicketEvent.seq))]
    kept = changes(first)
    assert kept[:1] == [("counter_open", "09:15")] and ("counter_open", "09:50") in kept
    paused = [at for kind, at in kept if kind == "counter_paused"]
    assert len(paused) == 1 and "09:30" <= paused[0] < "09:50"  # after the visitor at the counter, if any
    assert kept[-1][0] == "counter_closed" and kept[-1][1] >= "10:30"
    assert changes(second)[0] == ("counter_open", "09:00")  # no schedule of its own: the profile's hours
