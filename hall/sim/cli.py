"""`flask hall simulate`: a synthetic day through the real engine, its figures as a table or JSON."""
from __future__ import annotations

import json
from datetime import date

import click

from hall import clock
from hall.queue.errors import NotFound
from hall.queue.lookup import hall_by_slug
from hall.queue.rules import today
from hall.sim.run import simulate, simulate_into
from hall.sim.fit import fit_profile, parse_period
from hall.sim.layout import layout_of
from hall.sim.profile import ProfileError, load_profile
from hall.sim.whatif import WhatIfError, staffing_options

COLUMNS = [("counters", "counters"), ("issued", "issued"), ("served", "served"), ("wait_avg_s", "wait avg s"),
           ("wait_p50_s", "p50 s"), ("wait_p90_s", "p90 s"), ("wait_max_s", "max s"),
           ("served_within_limit_pct", "within limit %"), ("utilisation_pct", "utilisation %"),
           ("estimate_mae_pct", "estimate MAE %")]


def _cell(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return "-" if value is None else str(value)


def table(options: list[dict]) -> str:
    rows = [[title for _, title in COLUMNS]] + [[_cell(o[name]) for name, _ in COLUMNS] for o in options]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows)


def _hall(slug: str):
    try:
        return hall_by_slug(slug)
    except NotFound as exc:
        raise click.UsageError(exc.message) from None


@click.command("simulate")
@click.option("--profile", "profile_name", default="peak", show_default=True,
              help="light, peak, bursty, or a profile TOML file")
@click.option("--fit-from", "fit_from", default=None, metavar="YYYY-MM-DD..YYYY-MM-DD",
              help="fit the profile to the history of --hall (default demo) over this period")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="business day simulated (default: today)")
@click.option("--hall", "hall_slug", default=None, help="copy this hall's services and counters (default: the demo "
                                                         "hall's layout)")
@click.option("--into", "into", default=None, metavar="SLUG",
              help="simulate in this hall of the live database and keep the day (default: a scratch database)")
@click.option("--counters", "counters", multiple=True, metavar="SERVICE=N..M",
              help="what-if: counters serving a service, e.g. B=3..8 (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print {\"options\": [...]} as JSON")
def simulate_command(profile_name: str, fit_from: str | None, seed: int, day, hall_slug: str | None,
                     into: str | None, counters: tuple[str, ...], as_json: bool) -> None:
    """Simulate a hall day through the queue engine and print the report's figures."""
    from hall.demo import DEMO_LAYOUT

    if into and (counters or hall_slug):
        raise click.UsageError("--into simulates the named hall as it is: no --counters or --hall with it")
    source = _hall(into or hall_slug) if (into or hall_slug) else None
    try:
        if fit_from:
            profile = fit_profile(source or _hall("demo"), *parse_period(fit_from))
        else:
            profile = load_profile(profile_name)
        base = layout_of(source) if source else DEMO_LAYOUT
        options = staffing_options(base, list(counters))
    except (ProfileError, WhatIfError) as exc:
        raise click.UsageError(str(exc)) from None
    zone = base.timezone
    day = day.date() if day else clock.to_local(clock.utcnow(), zone).date() if source is None else today(source)
    if into:
        results = [simulate_into(source, profile, seed, day)]
    else:
        results = simulate(options, profile, seed, day)
    if as_json:
        click.echo(json.dumps({"profile": profile.name, "seed": seed, "day": day.isoformat(), "options": results},
                              ensure_ascii=False))
    else:
        click.echo(f"profile {profile.name}, seed {seed}, day {day}")
        click.echo(table(results))
