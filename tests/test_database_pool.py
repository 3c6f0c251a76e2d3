"""The connection pool keeps the connections a server process uses at once (real PostgreSQL): a
second peak of requests reuses them instead of opening new ones (each a server process and an
authentication), and a quiet hall keeps reusing the most recently returned one."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import event

from hall.config import load_settings
from hall.extensions import db
from tests.live import ROOT

#: Requests one server process has in flight at once under the issue benchmark (16 kiosks).
REQUESTS_AT_ONCE = 16


def _hold_at_once(engine, count: int) -> None:
    """`count` requests in flight together, each holding a connection until all have one."""
    all_hold = threading.Barrier(count, timeout=10)

    def request() -> None:
        with engine.connect():
            all_hold.wait()

    threads = [threading.Thread(target=request) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not all_hold.broken


@pytest.mark.postgres
def test_a_second_peak_reuses_the_pools_connections_and_a_quiet_hall_one(pg_app, pg_demo):
    engine = db.engine
    opened, handed_out = [], []
    event.listen(engine.pool, "connect", lambda dbapi_connection, _record: opened.append(dbapi_connection))
    event.listen(engine.pool, "checkout", lambda dbapi_connection, *_: handed_out.append(id(dbapi_connection)))

    _hold_at_once(engine, REQUESTS_AT_ONCE)
    first_peak = len(opened)
    _hold_at_once(engine, REQUESTS_AT_ONCE)
    assert len(opened) - first_peak == 0, "the second peak opened new connections: the pool closed the first's"

    client = pg_app.test_client()
    handed_out.clear()
    for _ in range(5):
        assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
    assert len(set(handed_out)) == 1, "one request at a time should keep reusing the last connection returned"
    assert len(opened) == first_peak


def test_the_shipped_service_stays_within_postgresqls_default_max_connections():
    """config.toml's rule: workers × (pool_size + max_overflow) ≤ max_connections (100) − 10."""
    database = load_settings(ROOT / "config.toml", environ={})["database"]
    unit = (ROOT / "deploy/systemd/hall.service").read_text()
    workers = int(re.search(r"HALL_SERVER_WORKERS=(\d+)", unit).group(1))
    assert workers * (database["pool_size"] + database["max_overflow"]) <= 100 - 10
