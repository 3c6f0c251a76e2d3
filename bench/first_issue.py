"""A hall's first issue in a new server process on PostgreSQL: how long it holds the hall's row lock.

    python bench/first_issue.py                                # this checkout, 8 rounds
    git archive <commit> | tar -x -C /tmp/before
    python bench/first_issue.py --before /tmp/before           # + that commit's Hall, alternating

A new process has no copy of the hall, its services or the estimate's picture. Each round starts a
new Python process per variant (alternating) on the same throw-away PostgreSQL database with the demo
hall, and issues two tickets of service A there: its first and, for comparison, its second. For each it
times the issue and the hall's row lock (from the statement that locks the hall to the end of its
transaction, or of the statement itself when sent in autocommit) and counts the statements sent while
the lock is held. Prints the medians per variant and the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import database  # noqa: E402

#: Run in the variant's own process, with its checkout first on the path: two issues, timed.
CHILD = """
import json, sys, time
from sqlalchemy import event
from sqlalchemy.orm import Session
from hall import create_app, queue
from hall.extensions import db

app = create_app()
seen = []

def on_statement(conn, cursor, statement, *_):
    issue = seen[-1]
    if "lock" not in issue and "UPDATE halls" in statement:
        issue["lock"] = time.perf_counter()
    if "lock" in issue and "free" not in issue:
        issue["locked_statements"] = issue.get("locked_statements", 0) + 1

def after_statement(conn, cursor, statement, *_):
    issue = seen[-1]
    if "free" not in issue and "UPDATE halls" in statement and getattr(cursor.connection, "autocommit", False):
        issue["free"] = time.perf_counter()

def after_commit(_session):
    issue = seen[-1] if seen else {}
    if "lock" in issue and "free" not in issue:
        issue["free"] = time.perf_counter()

with app.app_context():
    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(db.engine, "after_cursor_execute", after_statement)
    event.listen(Session, "after_commit", after_commit)
    for _ in range(2):
        seen.append({})
        started = time.perf_counter()
        queue.issue_ticket("demo", "A")
        seen[-1]["took"] = time.perf_counter() - started
        db.session.remove()
print(json.dumps([{"issue_ms": 1000 * i["took"], "locked_ms": 1000 * (i["free"] - i["lock"]),
                   "locked_statements": i["locked_statements"]} for i in seen]))
"""


def one_process(url: str, root: Path) -> list[dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(root), "HALL_DATABASE_URL": url}
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=root, env=env, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--before", metavar="CHECKOUT", help="another checkout of Hall to compare, alternating")
    args = parser.parse_args()
    variants = {"now": ROOT, **({"before": Path(args.before).resolve()} if args.before else {})}
    figures: dict[str, list[list[dict[str, float]]]] = {name: [] for name in variants}
    with database("postgres") as url:
        for _ in range(args.rounds):
            for name, root in variants.items():
                figures[name].append(one_process(url, root))
    medians = {name: [{key: statistics.median(run[n][key] for run in runs) for key in runs[0][n]} for n in (0, 1)]
               for name, runs in figures.items()}
    for name, (first, second) in medians.items():
        for label, issue in (("first issue", first), ("second issue", second)):
            print(f"RESULT {name:6} {label:12} issue {issue['issue_ms']:7.1f} ms | hall's row locked "
                  f"{issue['locked_ms']:6.2f} ms, {issue['locked_statements']:4.1f} statements")
    if args.before:
        now, before = medians["now"][0], medians["before"][0]
        print(f"RESULT first issue now/before: issue {now['issue_ms'] / before['issue_ms']:4.2f}x, "
              f"hall's row locked {now['locked_ms'] / before['locked_ms']:4.2f}x")


if __name__ == "__main__":
    main()
